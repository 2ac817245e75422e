"""The training loop: mini-batches, fit on a problem it must solve, divergence, early stopping."""
import numpy as np
import pytest
import torch

from introdl import data, nn, optim, torch_twin
from introdl.train import (DivergedError, EarlyStopping, accuracy, batches_per_epoch, evaluate_loss,
                           fit, minibatches, predict)


def small_mlp(rng, inputs=2, hidden=16, outputs=2):
    return nn.Sequential(nn.Linear(inputs, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, outputs, rng=rng))


# ---------------------------------------------------------------- mini-batches
@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (7, 7), (5, 10)])
def test_minibatches_cover_every_example_once(n, batch_size):
    X = np.arange(n * 2, dtype=float).reshape(n, 2)
    y = np.arange(n)
    batches = list(minibatches(X, y, batch_size, rng=np.random.default_rng(0)))
    assert len(batches) == batches_per_epoch(n, batch_size)
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(n))  # without replacement
    assert all(len(yb) == batch_size for _, yb in batches[:-1])
    for xb, yb in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)


def test_minibatches_shuffle_with_the_given_rng():
    X, y = np.zeros((50, 1)), np.arange(50)
    order = lambda seed: np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=np.random.default_rng(seed))])
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    assert not np.array_equal(order(1), np.arange(50))
    unshuffled = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=np.random.default_rng(1), shuffle=False)])
    np.testing.assert_array_equal(unshuffled, np.arange(50))


@pytest.mark.parametrize("batch_size, error, match", [(0, ValueError, "batch_size must be an integer >= 1, got 0"),
                                                      (2.5, TypeError, "batch_size must be an integer")])
def test_minibatches_reject_bad_batch_sizes(batch_size, error, match):
    with pytest.raises(error, match=match):
        list(minibatches(np.zeros((4, 1)), np.zeros(4), batch_size, rng=np.random.default_rng(0)))


def test_minibatches_reject_mismatched_lengths_and_empty_data():
    with pytest.raises(ValueError, match="same number of examples, got 4 and 3"):
        list(minibatches(np.zeros((4, 1)), np.zeros(3), 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="empty"):
        list(minibatches(np.zeros((0, 1)), np.zeros(0), 2, rng=np.random.default_rng(0)))


# ---------------------------------------------------------------- fit
def test_fit_solves_two_moons():
    rng = np.random.default_rng(0)
    X, y = data.two_moons(400, noise=0.1, rng=rng)
    model = small_mlp(rng)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02), X, y,
                  epochs=60, batch_size=32, rng=rng)
    assert history.epochs_run == 60 and history.stopped_epoch is None
    assert history.steps == 60 * batches_per_epoch(400, 32)
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    assert accuracy(model, X, y, outputs="logits") > 0.97


def test_fit_records_validation_loss_in_eval_mode():
    rng = np.random.default_rng(1)
    X, y = data.two_moons(200, rng=rng)
    model = nn.Sequential(nn.Linear(2, 32, rng=rng), nn.ReLU(), nn.Dropout(0.5, rng=rng), nn.Linear(32, 2, rng=rng))
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=3, batch_size=50, rng=rng, validation=(X, y))
    assert len(history.val_loss) == 3
    # Eval mode turns dropout off, so the recorded value is reproducible afterwards.
    assert history.val_loss[-1] == evaluate_loss(model, nn.CrossEntropyLoss(), X, y)
    assert model.training  # fit leaves the model in training mode
    assert history.best_epoch == int(np.argmin(history.val_loss)) + 1


def test_fit_matches_a_plain_torch_loop_with_the_same_batches():
    """fit is nothing but: for each shuffled batch, zero_grad, loss, backward, step."""
    rng = np.random.default_rng(2)
    X, y = data.two_moons(90, rng=rng)
    model = small_mlp(rng)
    twin = torch_twin.to_torch(model, on_device="cpu")  # the same network and weights in torch
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.3, momentum=0.9, weight_decay=1e-3),
        X, y, epochs=4, batch_size=16, rng=np.random.default_rng(7))

    torch_opt = torch.optim.SGD(twin.parameters(), lr=0.3, momentum=0.9, weight_decay=1e-3)
    batch_rng = np.random.default_rng(7)  # the same seed gives fit's batch order
    for _ in range(4):
        for xb, yb in minibatches(X, y, 16, rng=batch_rng):
            torch_opt.zero_grad()
            torch.nn.functional.cross_entropy(twin(torch.as_tensor(xb)), torch.as_tensor(yb)).backward()
            torch_opt.step()
    for ours, theirs in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_fit_reports_divergence_with_the_step():
    rng = np.random.default_rng(3)
    X, y = data.regression_1d(64, rng=rng)
    model = nn.Sequential(nn.Linear(1, 32, rng=rng), nn.ReLU(), nn.Linear(32, 1, rng=rng))
    with pytest.raises(DivergedError, match=r"training diverged at step \d+ \(epoch \d+\).*lr = 50") as caught:
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=50.0), X, y[:, None],
            epochs=20, batch_size=8, rng=rng)
    err = caught.value
    assert f"step {err.step} " in str(err)
    # The epochs before the one that diverged were recorded, and they were finite.
    assert err.history.epochs_run == err.epoch - 1
    assert all(np.isfinite(err.history.train_loss))
    assert 1 <= err.step <= 20 * 8


def test_fit_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    model = small_mlp(rng)
    opt = optim.SGD(model.parameters(), lr=0.1)
    X, y = np.zeros((10, 2)), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="same number of examples, got 10 and 9"):
        fit(model, nn.CrossEntropyLoss(), opt, X, y[:9], epochs=1, batch_size=2, rng=rng)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=0, batch_size=2, rng=rng)
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=2, rng=rng, early_stopping=EarlyStopping())
    with pytest.raises(ValueError, match="X must be finite"):
        fit(model, nn.CrossEntropyLoss(), opt, np.full((10, 2), np.nan), y, epochs=1, batch_size=2, rng=rng)


# ---------------------------------------------------------------- early stopping
def overfitting_run(early_stopping, epochs=150):
    """A wide network on 60 digits: validation loss falls, then rises as it memorises."""
    rng = np.random.default_rng(4)
    X, y = data.digits()
    X_train, X_val, y_train, y_val = data.train_test_split(X, y, test_size=0.5, rng=rng)
    X_train, y_train = X_train[:60], y_train[:60]
    model = nn.Sequential(nn.Linear(64, 256, rng=rng), nn.ReLU(), nn.Linear(256, 10, rng=rng))
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), X_train, y_train,
                  epochs=epochs, batch_size=20, rng=rng, validation=(X_val, y_val), early_stopping=early_stopping)
    return model, history, (X_val, y_val)


def test_early_stopping_stops_an_overfitting_run_and_restores_the_best_weights():
    stopper = EarlyStopping(patience=5)
    model, history, (X_val, y_val) = overfitting_run(stopper)
    best = history.best_epoch
    assert history.stopped_epoch is not None and history.stopped_epoch < 150
    assert history.stopped_epoch == best + 5  # exactly `patience` epochs without improvement
    assert history.val_loss[best - 1] == min(history.val_loss)
    assert history.val_loss[-1] > history.val_loss[best - 1]  # it really was overfitting
    # The restored weights give exactly the best validation loss.
    assert evaluate_loss(model, nn.CrossEntropyLoss(), X_val, y_val) == history.val_loss[best - 1]


def test_early_stopping_without_restore_keeps_the_last_weights():
    model, history, (X_val, y_val) = overfitting_run(EarlyStopping(patience=5, restore_best=False))
    assert evaluate_loss(model, nn.CrossEntropyLoss(), X_val, y_val) == history.val_loss[-1]


def test_min_delta_counts_small_improvements_as_none():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    model = small_mlp(np.random.default_rng(0))
    assert not stopper.update(1.0, 1, model)
    assert not stopper.update(0.95, 2, model)  # better, but by less than min_delta
    assert stopper.update(0.93, 3, model)
    assert stopper.best_epoch == 1


@pytest.mark.parametrize("kwargs, match", [({"patience": 0}, "patience must be an integer >= 1, got 0"),
                                           ({"min_delta": -0.1}, r"min_delta must be in \[0, inf\], got -0.1")])
def test_early_stopping_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


# ---------------------------------------------------------------- one run's state stays in that run
def short_validated_run(stopper, seed):
    """A small network that overfits 40 digits within a few epochs; returns (model, history)."""
    rng = np.random.default_rng(seed)
    X, y = data.digits()
    X_train, y_train, X_val, y_val = X[:40], y[:40], X[40:240], y[40:240]
    model = nn.Sequential(nn.Linear(64, 64, rng=rng), nn.ReLU(), nn.Linear(64, 10, rng=rng))
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-2), X_train, y_train,
                  epochs=40, batch_size=20, rng=rng, validation=(X_val, y_val), early_stopping=stopper)
    return model, history


def test_a_reused_early_stopping_starts_each_fit_afresh():
    """The second fit with the same EarlyStopping behaves exactly as with a new one: it neither
    stops at once on the first run's best loss nor restores the first run's weights."""
    stopper = EarlyStopping(patience=3)
    short_validated_run(stopper, seed=1)
    reused_model, reused = short_validated_run(stopper, seed=2)
    fresh_model, fresh = short_validated_run(EarlyStopping(patience=3), seed=2)
    assert reused.val_loss == fresh.val_loss
    assert (reused.best_epoch, reused.stopped_epoch) == (fresh.best_epoch, fresh.stopped_epoch)
    assert fresh.stopped_epoch is not None and fresh.stopped_epoch > 3  # the test exercises stopping
    for ours, theirs in zip(reused_model.parameters(), fresh_model.parameters()):
        np.testing.assert_array_equal(ours.data, theirs.data)


def test_early_stopping_reset_forgets_everything():
    stopper = EarlyStopping(patience=2)
    model = small_mlp(np.random.default_rng(0))
    stopper.update(0.5, 1, model)
    stopper.update(0.7, 2, model)
    stopper.reset()
    assert (stopper.best_loss, stopper.best_epoch, stopper.epochs_without_improvement) == (np.inf, None, 0)
    with pytest.raises(RuntimeError, match="before any validation loss"):
        stopper.restore(model)


# ---------------------------------------------------------------- accuracy: an explicit decision rule
def perfect_line():
    """Linear(1, 1) with w = 5, b = 0, and four points it separates at x = 0."""
    line = nn.Linear(1, 1, rng=np.random.default_rng(0))
    line.weight.data[...] = 5.0
    line.bias.data[...] = 0.0
    return line, np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0, 0, 1, 1])


class LineThenSigmoid(nn.Module):
    """A custom Module that ends in a sigmoid: its class name says nothing about its outputs."""

    def __init__(self, line):
        super().__init__()
        self.line, self.squash = line, nn.Sigmoid()

    def forward(self, x):
        return self.squash(self.line(x))


def test_accuracy_reads_the_decision_rule_from_its_argument_not_from_class_names():
    line, X, y = perfect_line()
    assert accuracy(line, X, y, outputs="logits") == 1.0  # one output is a logit, class 1 when > 0
    for model in (nn.Sequential(line, nn.Sigmoid()), nn.Sequential(nn.Sequential(line, nn.Sigmoid())),
                  LineThenSigmoid(line)):
        assert accuracy(model, X, y, outputs="probabilities") == 1.0, model
        assert accuracy(model, X, y[:, None], outputs="probabilities") == 1.0  # (N, 1) labels too


def test_accuracy_with_several_outputs_takes_the_argmax():
    rng = np.random.default_rng(5)
    model = small_mlp(rng, outputs=3)
    X, y = rng.normal(size=(30, 2)), rng.integers(0, 3, size=30)
    expected = np.mean(model(X).argmax(axis=1) == y)
    assert accuracy(model, X, y, outputs="logits") == accuracy(model, X, y, outputs="probabilities") == expected


def test_accuracy_has_no_default_for_what_the_outputs_mean():
    """A sigmoid's outputs read as logits are all "class 1": 0.5 for a perfect classifier, silently."""
    line, X, y = perfect_line()
    model = nn.Sequential(line, nn.Sigmoid())
    with pytest.raises(TypeError, match="outputs"):
        accuracy(model, X, y)
    assert accuracy(model, X, y, outputs="probabilities") == 1.0


def test_predict_on_no_examples_gives_torchs_empty_output():
    rng = np.random.default_rng(6)
    model = small_mlp(rng, outputs=3)
    expected = torch_twin.to_torch(model, on_device="cpu")(torch.zeros(0, 2, dtype=torch.float64))
    out = predict(model, np.zeros((0, 2)))
    assert out.shape == tuple(expected.shape) == (0, 3)


@pytest.mark.parametrize("measure", [lambda m, X, y: evaluate_loss(m, nn.CrossEntropyLoss(), X, y),
                                     lambda m, X, y: accuracy(m, X, y, outputs="logits")],
                         ids=["evaluate_loss", "accuracy"])
def test_a_mean_over_no_examples_is_refused_not_nan(measure):
    model = small_mlp(np.random.default_rng(7), outputs=3)
    with pytest.raises(ValueError, match="needs at least one example, got X with 0 rows"):
        measure(model, np.zeros((0, 2)), np.zeros(0, dtype=int))


def test_predict_restores_each_modules_own_mode():
    """MC dropout: the model in eval mode, one dropout layer in training mode; predict keeps both."""
    rng = np.random.default_rng(8)
    model = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.Dropout(0.5, rng=rng), nn.Linear(4, 2, rng=rng),
                          nn.Dropout(0.5, rng=rng))
    model.eval()
    model[1].train()
    predict(model, rng.normal(size=(5, 2)))
    assert [m.training for m in model] == [False, True, False, False] and not model.training


def test_fit_names_eps_0_as_the_cause_not_the_learning_rate():
    """An input feature that is always 0 gives its weights a zero gradient; Adam with eps = 0 divides 0 by 0."""
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(16, 2)), rng.integers(0, 2, 16)
    X[:, 1] = 0.0
    model = small_mlp(rng)
    with pytest.raises(DivergedError, match=r"training stopped at step 1 \(epoch 1\): Adam.step\(\) would make "
                                            r"the values .*eps = 0") as caught:
        fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), eps=0.0), X, y,
            epochs=1, batch_size=16, rng=rng)
    assert "smaller learning rate" not in str(caught.value)


@pytest.mark.parametrize("labels, outputs, match", [
    (np.eye(3)[[0, 1, 2, 1]], "logits", r"one class label per example, shape \(N,\), got shape \(4, 3\); "
                                        r"for one-hot targets pass y.argmax\(axis=1\)"),
    (np.array([0, 1, 1]), "logits", "same number of examples, got 4 inputs and 3 labels"),
    (np.array([0, 1, 1, 0, 1]), "logits", "got 4 inputs and 5 labels"),
    (np.array([0, 0, 1, 1]), "probability", 'outputs must be "logits" or "probabilities", got \'probability\''),
    (np.array([0, 0, 1, 1]), "probabilities", r"outside \[0, 1\] \(from -10 to 10\); are they logits"),
])
def test_accuracy_explains_bad_input_in_its_own_words(labels, outputs, match):
    line, X, _ = perfect_line()
    with pytest.raises(ValueError, match=match):
        accuracy(line, X, labels, outputs=outputs)


def test_fit_rejects_a_malformed_validation_set():
    rng = np.random.default_rng(0)
    model = small_mlp(rng)
    opt = optim.SGD(model.parameters(), lr=0.1)
    X, y = np.zeros((10, 2)), np.zeros(10, dtype=int)
    with pytest.raises(TypeError, match=r"validation must be a pair \(X_val, y_val\), got ndarray"):
        fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=2, rng=rng, validation=X)
    with pytest.raises(ValueError, match="X_val and y_val must have the same number of examples, got 10 and 9"):
        fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=2, rng=rng, validation=(X, y[:9]))


def test_fit_steps_a_learning_rate_schedule_once_per_epoch_as_torch_does():
    rng = np.random.default_rng(2)
    X, y = data.two_moons(90, rng=rng)
    model = small_mlp(rng)
    twin = torch_twin.to_torch(model, on_device="cpu")  # the same network and weights in torch
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    schedule = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    fit(model, nn.CrossEntropyLoss(), optimizer, X, y, epochs=5, batch_size=16, rng=np.random.default_rng(7),
        scheduler=schedule)
    assert schedule.last_epoch == 5 and optimizer.param_groups[0]["lr"] == 0.5 * 0.5 ** 2

    torch_opt = torch.optim.SGD(twin.parameters(), lr=0.5, momentum=0.9)
    torch_schedule = torch.optim.lr_scheduler.StepLR(torch_opt, step_size=2, gamma=0.5)
    batch_rng = np.random.default_rng(7)
    for _ in range(5):
        for xb, yb in minibatches(X, y, 16, rng=batch_rng):
            torch_opt.zero_grad()
            torch.nn.functional.cross_entropy(twin(torch.as_tensor(xb)), torch.as_tensor(yb)).backward()
            torch_opt.step()
        torch_schedule.step()
    for ours, theirs in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    other = optim.SGD(small_mlp(rng).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler must be a learning-rate schedule of this optimizer"):
        fit(model, nn.CrossEntropyLoss(), optimizer, X, y, epochs=1, batch_size=16, rng=rng,
            scheduler=optim.lr_scheduler.StepLR(other, step_size=1))
