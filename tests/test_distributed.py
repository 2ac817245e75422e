"""Data-parallel SGD (introdl.distributed): two gloo processes on the CPU, float64.

The all-reduced gradient must be the full-batch gradient (from autograd in one process and from
introdl's NumPy backward), synchronised steps must keep the replicas identical (and equal to
``train.fit`` in one process), and shards of unequal size must be refused before any process starts.
"""
import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

from introdl import distributed, nn, optim, torch_twin, train


def _problem(seed, n=16, loss="cross_entropy"):
    """A small network and data: X (n, 3); y (n,) labels for cross entropy or (n, 2) targets for MSE."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.Tanh(), nn.Linear(5, 2, rng=rng))
    X = rng.normal(size=(n, 3))
    if loss == "cross_entropy":
        return model, nn.CrossEntropyLoss(), X, rng.integers(0, 2, size=n)
    return model, nn.MSELoss(), X, rng.normal(size=(n, 2))


def _numpy_gradients(model, loss_fn, X, y):
    """introdl's backward on the whole batch, in one process: a list of arrays."""
    model = copy.deepcopy(model)
    model.zero_grad()
    loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    return [p.grad for p in model.parameters()]


def _autograd_gradients(model, loss, X, y):
    """torch autograd on the whole batch, in one process, float64 on the CPU: a list of arrays."""
    twin = torch_twin.to_torch(model, on_device="cpu", dtype=torch.float64)
    loss(twin(torch.as_tensor(X)), torch.as_tensor(y)).backward()
    return [torch_twin.to_numpy(p.grad) for p in twin.parameters()]


def _max_difference(a, b):
    assert len(a) == len(b)
    return max(float(np.max(np.abs(x - z))) for x, z in zip(a, b))


def test_all_reduced_gradient_is_the_full_batch_gradient():
    model, loss_fn, X, y = _problem(0)
    averaged = distributed.data_parallel_gradients(model, loss_fn, X, y, world_size=2)

    assert [g.shape for g in averaged] == [p.data.shape for p in model.parameters()]
    assert _max_difference(averaged, _autograd_gradients(model, torch.nn.functional.cross_entropy, X, y)) < 1e-12
    assert _max_difference(averaged, _numpy_gradients(model, loss_fn, X, y)) < 1e-12
    # A single shard's gradient is not the batch gradient: the all-reduce is doing real work.
    assert _max_difference(_numpy_gradients(model, loss_fn, X[:8], y[:8]), averaged) > 1e-3


def test_synchronised_steps_keep_replicas_identical_and_match_fit():
    model, loss_fn, X, y = _problem(1, n=24, loss="mse")
    replicas = distributed.data_parallel_sgd(model, loss_fn, X, y, lr=0.1, epochs=2, batch_size=8,
                                             rng=np.random.default_rng(5), world_size=2)

    assert [r.rank for r in replicas] == [0, 1]
    steps = 2 * train.batches_per_epoch(24, 8)
    assert all(len(r.gradients) == len(r.shard_gradients) == steps for r in replicas)
    for step in range(steps):  # every step: the same all-reduced gradient on both ranks ...
        assert all(np.array_equal(a, b) for a, b in zip(replicas[0].gradients[step], replicas[1].gradients[step]))
        # ... and it is the mean of the two shard gradients
        mean = [(a + b) / 2 for a, b in zip(replicas[0].shard_gradients[step], replicas[1].shard_gradients[step])]
        assert _max_difference(mean, replicas[0].gradients[step]) < 1e-15
    assert all(np.array_equal(a, b) for a, b in zip(replicas[0].weights, replicas[1].weights))

    single = copy.deepcopy(model)
    train.fit(single, nn.MSELoss(), optim.SGD(single.parameters(), lr=0.1), X, y, epochs=2, batch_size=8,
              rng=np.random.default_rng(5))
    assert _max_difference(replicas[0].weights, [p.data for p in single.parameters()]) < 1e-12
    # The weights moved: the comparison is not between two copies of the initial weights.
    assert _max_difference(replicas[0].weights, [p.data for p in model.parameters()]) > 1e-3


def test_unequal_shards_are_refused_before_any_process_starts():
    model, loss_fn, X, y = _problem(2, n=17)
    with pytest.raises(ValueError, match="7 rows, which do not split into 2 equal shards"):
        distributed.data_parallel_gradients(model, loss_fn, X[:7], y[:7], world_size=2)
    with pytest.raises(ValueError, match="batch_size=5"):
        distributed.data_parallel_sgd(model, loss_fn, X[:15], y[:15], lr=0.1, epochs=1, batch_size=5,
                                      rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="the last mini-batch"):  # 17 = 2·8 + 1
        distributed.data_parallel_sgd(model, loss_fn, X, y, lr=0.1, epochs=1, batch_size=8,
                                      rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="3 equal shards"):
        distributed.data_parallel_gradients(model, loss_fn, X[:16], y[:16], world_size=3)


def test_bad_inputs_get_clear_errors():
    model, loss_fn, X, y = _problem(3)
    with pytest.raises(ValueError, match="same number of examples"):
        distributed.data_parallel_gradients(model, loss_fn, X, y[:8])
    with pytest.raises(TypeError, match="introdl.nn loss"):
        distributed.data_parallel_gradients(model, torch.nn.functional.cross_entropy, X, y)
    with pytest.raises(TypeError, match="introdl.nn module"):
        distributed.data_parallel_gradients(torch_twin.to_torch(model, on_device="cpu"), loss_fn, X, y)
    rng = np.random.default_rng(0)
    with_dropout = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Dropout(0.5, rng=rng), nn.Linear(4, 2, rng=rng))
    with pytest.raises(ValueError, match="dropout masks"):
        distributed.data_parallel_gradients(with_dropout, loss_fn, X, y)


def test_importing_introdl_does_not_import_torch():
    code = "import sys, introdl, introdl.distributed; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
