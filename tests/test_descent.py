"""introdl.descent: gradient descent on chapter 7's loss surface, tested on its numbers.

The surface against a least-squares fit computed here; the three regimes (too small, stable, too
large) against iterating w ← w − η∇J by hand; gradient_descent against the closed form
w_k − c = (I − ηH)^k (w_0 − c) on random quadratics.
"""
import numpy as np
import pytest

from introdl import data
from introdl.descent import (
    DEFAULT_START, DEFAULT_STEPS, LOSS_BOUND, describe_run, gradient_descent, learning_rate_run, learning_rate_surface,
)


def closed_form_minimum():
    """The least-squares line through the chapter's data, computed here from scratch."""
    x, y = data.regression_1d(50, noise=0.1, rng=np.random.default_rng(7))
    A = np.column_stack([np.ones(len(x)), x[:, 0]])
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    return w, A, y


def largest_curvature():
    _, A, _ = closed_form_minimum()
    return np.linalg.eigvalsh(2 / len(A) * A.T @ A)[-1]


# ---------------------------------------------------------------- the surface
def test_surface_is_the_mse_of_a_line_on_regression_1d():
    w_star, A, y = closed_form_minimum()
    surface = learning_rate_surface()
    np.testing.assert_allclose(surface.minimum, w_star, rtol=1e-12)
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(surface.loss(w), np.mean((A @ w - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(surface.gradient(w), 2 / len(y) * A.T @ (A @ w - y), rtol=1e-12)
    # The contour grid is computed once and agrees with the loss at its points.
    i, j = 17, 60
    point = [surface.grid_w0[i, j], surface.grid_w1[i, j]]
    np.testing.assert_allclose(surface.grid_loss[i, j], surface.loss(point), rtol=1e-12)
    assert learning_rate_surface() is surface


# ---------------------------------------------------------------- the three regimes
def test_a_small_learning_rate_barely_moves():
    w_star, _, _ = closed_form_minimum()
    run = learning_rate_run(1e-3)
    assert run.diverged_at is None
    assert run.path.shape == (DEFAULT_STEPS + 1, 2)
    moved = np.linalg.norm(run.path[-1] - run.path[0])
    assert moved < 0.2 * np.linalg.norm(w_star - np.array(DEFAULT_START))
    assert run.losses[-1] < run.losses[0]  # it does go down hill, just slowly
    assert "still far from the minimum" in describe_run(run)


@pytest.mark.parametrize("lr", [0.3, 0.5, 0.7])
def test_a_stable_learning_rate_converges_to_the_least_squares_minimum(lr):
    w_star, _, _ = closed_form_minimum()
    run = learning_rate_run(lr, steps=400)
    assert run.diverged_at is None
    np.testing.assert_allclose(run.path[-1], w_star, atol=1e-6)
    assert np.all(np.diff(run.losses) <= 1e-12)  # on a quadratic, η < 2/λ_max never goes up hill
    assert describe_run(learning_rate_run(lr)).startswith("converged")


def first_bad_step(lr, steps):
    """Iterate w ← w − η∇J by hand and return the first step whose loss is over the bound."""
    _, A, y = closed_form_minimum()
    w = np.array(DEFAULT_START, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            w = w - lr * 2 / len(y) * A.T @ (A @ w - y)
            loss = np.mean((A @ w - y) ** 2)
            if not loss <= LOSS_BOUND:
                return k
    return None


@pytest.mark.parametrize("lr", [1.0, 1.5, 2.0, 1e3, 1e300])
def test_a_large_learning_rate_diverges_at_the_first_bad_step(lr):
    run = learning_rate_run(lr)
    expected = first_bad_step(lr, DEFAULT_STEPS)
    assert expected is not None
    assert run.diverged_at == expected
    # The step that blew up is not stored: w_0 … w_(k-1), all finite and under the bound.
    assert run.path.shape == (expected, 2) and run.losses.shape == (expected,)
    assert np.all(run.losses <= LOSS_BOUND)
    assert describe_run(run).startswith(f"diverged at step {expected}")


def test_the_threshold_is_two_over_the_largest_curvature():
    critical = 2 / largest_curvature()
    below = learning_rate_run(0.98 * critical, steps=2000)
    above = learning_rate_run(1.02 * critical, steps=2000)
    assert below.diverged_at is None and below.losses[-1] < below.losses[0]
    assert above.diverged_at is not None


def test_no_nan_or_inf_ever():
    for lr in np.concatenate([np.logspace(-3, np.log10(2.0), 25), [0.0, 1e-12, 10.0, 1e12, 1e308]]):
        run = learning_rate_run(lr)
        assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.losses)), lr
        assert len(run.path) == len(run.losses) >= 1


def test_the_run_is_a_pure_function():
    first = learning_rate_run(0.2)
    first.path[:] = 0.0  # changing a result must not change the next one
    second, third = learning_rate_run(0.2), learning_rate_run(0.2)
    np.testing.assert_array_equal(second.path, third.path)
    assert not np.all(second.path == 0.0)


def test_gradient_descent_matches_the_closed_form_on_random_quadratics():
    # J(w) = ½ (w − c)ᵀ H (w − c): then w_k − c = (I − ηH)^k (w_0 − c) exactly.
    rng = np.random.default_rng(0)
    for _ in range(5):
        B = rng.normal(size=(3, 3))
        H = B @ B.T + 0.1 * np.eye(3)
        c, w0 = rng.normal(size=3), rng.normal(size=3)
        lr = 1.5 / np.linalg.eigvalsh(H)[-1]
        run = gradient_descent(lambda w: 0.5 * (w - c) @ H @ (w - c), lambda w: H @ (w - c), w0, lr, 20)
        M = np.eye(3) - lr * H
        expected = [c + np.linalg.matrix_power(M, k) @ (w0 - c) for k in range(21)]
        np.testing.assert_allclose(run.path, expected, rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="lr"):
        learning_rate_run(-0.1)
    with pytest.raises(ValueError, match="steps"):
        learning_rate_run(0.1, steps=0)
    with pytest.raises(ValueError, match="start"):
        learning_rate_run(0.1, start=(1e9, 1e9))
