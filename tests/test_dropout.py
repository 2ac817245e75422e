"""Dropout against torch.nn.Dropout, in distribution: keep rate, scale, eval identity, gradient mask."""
import numpy as np
import pytest
import torch

from introdl import nn

N = 200_000


def torch_dropout(x, p, seed):
    torch.manual_seed(seed)
    layer = torch.nn.Dropout(p)
    x = torch.tensor(x, requires_grad=True)
    y = layer(x)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_rate_and_scale_match_torch(p):
    x = np.ones(N)
    ours = nn.Dropout(p, rng=np.random.default_rng(0))(x)
    theirs, _ = torch_dropout(x, p, seed=0)
    for output in (ours, theirs):
        kept = output != 0
        # The kept fraction is Binomial(N, 1 − p)/N: within 5 standard deviations of 1 − p.
        assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / N)
        np.testing.assert_allclose(output[kept], 1 / (1 - p), rtol=1e-12)
    # The scale that keeps the expectation: the same survivors' value in both.
    np.testing.assert_allclose(ours[ours != 0][0], theirs[theirs != 0][0], rtol=1e-12)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_expectation_is_kept(p):
    x = np.random.default_rng(1).normal(size=(4, 5))
    layer = nn.Dropout(p, rng=np.random.default_rng(2))
    mean = np.mean([layer(x) for _ in range(20_000)], axis=0)
    assert np.max(np.abs(mean - x)) < 0.05


def test_eval_mode_is_the_identity_like_torch():
    x = np.random.default_rng(3).normal(size=(6, 7))
    layer = nn.Dropout(0.5, rng=np.random.default_rng(0)).eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    twin = torch.nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(twin(torch.tensor(x)).numpy(), layer(x))


def test_backward_uses_the_forward_mask_like_torch():
    x = np.random.default_rng(4).normal(size=(50, 40))
    layer = nn.Dropout(0.3, rng=np.random.default_rng(5))
    y = layer(x)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad != 0, y != 0)
    np.testing.assert_allclose(grad[grad != 0], 1 / 0.7, rtol=1e-12)
    # torch's autograd does the same: the gradient is the mask scaled by 1/(1 − p).
    y_t, grad_t = torch_dropout(x, 0.3, seed=0)
    np.testing.assert_array_equal(grad_t != 0, y_t != 0)
    np.testing.assert_allclose(grad_t[grad_t != 0], 1 / 0.7, rtol=1e-12)


def test_train_and_eval_reach_every_layer():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Sequential(nn.Dropout(0.5, rng=rng), nn.ReLU()))
    model.eval()
    assert not model[1][0].training and not model[0].training
    model.train()
    assert model[1][0].training


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_rate_outside_unit_interval_is_rejected(p):
    with pytest.raises(ValueError, match=rf"dropout rate p must be in \[0, 1\), got {p}"):
        nn.Dropout(p)
