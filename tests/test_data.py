"""introdl.data: shapes, dtypes, labels, determinism from the Generator, and clear errors."""
import numpy as np
import pytest
from scipy.optimize import linprog

from introdl import data

GENERATED = {
    # name: (function, number of features, label set or None for a regression target)
    "two_moons": (data.two_moons, 2, {0, 1}),
    "circles": (data.circles, 2, {0, 1}),
    "linearly_separable": (data.linearly_separable, 2, {0, 1}),
    "regression_1d": (data.regression_1d, 1, None),
}


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("n_samples", [2, 51, 300])
def test_generated_data_has_the_promised_shapes_dtypes_and_labels(name, n_samples):
    function, n_features, labels = GENERATED[name]
    X, y = function(n_samples, rng=np.random.default_rng(0))
    assert X.shape == (n_samples, n_features) and X.dtype == np.float64
    assert y.shape == (n_samples,)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
    if labels is None:
        assert y.dtype == np.float64
    else:
        assert y.dtype == np.int64
        assert set(np.unique(y)) == labels
        assert abs(np.sum(y == 1) - np.sum(y == 0)) <= 1  # balanced classes


@pytest.mark.parametrize("name", GENERATED)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(name):
    function = GENERATED[name][0]
    X1, y1 = function(100, rng=np.random.default_rng(42))
    X2, y2 = function(100, rng=np.random.default_rng(42))
    X3, _ = function(100, rng=np.random.default_rng(43))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", GENERATED)
def test_generators_draw_from_the_rng_they_are_given(name):
    """Two calls sharing one Generator give two different data sets (the rng advanced)."""
    function = GENERATED[name][0]
    rng = np.random.default_rng(7)
    (X1, _), (X2, _) = function(50, rng=rng), function(50, rng=rng)
    assert not np.array_equal(X1, X2)


def is_linearly_separable(X, y):
    """Is there (w, b) with (2y − 1)(w·x + b) ≥ 1 for every point? A linear-programming feasibility check."""
    sign = 2.0 * y - 1.0
    A = -sign[:, None] * np.column_stack([X, np.ones(len(X))])
    result = linprog(np.zeros(X.shape[1] + 1), A_ub=A, b_ub=-np.ones(len(X)), bounds=(None, None))
    return result.status == 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n_samples", [20, 200, 1000])
@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
def test_linearly_separable_data_is_linearly_separable(seed, n_samples, margin):
    """Gaussian blobs alone overlap now and then (about 1 data set in 2 at 200 samples did)."""
    X, y = data.linearly_separable(n_samples, margin=margin, rng=np.random.default_rng(seed))
    assert is_linearly_separable(X, y)


def test_linearly_separable_leaves_a_gap_of_the_margin_between_the_classes():
    """The gap, measured along the normal of the best separating line, is at least ``margin``."""
    margin = 1.0
    X, y = data.linearly_separable(500, margin=margin, rng=np.random.default_rng(0))
    # For every direction u, the classes' projections are apart by min(u·x1) − max(u·x0);
    # the widest gap over many directions is the data's margin (up to the angular resolution).
    angles = np.linspace(0.0, np.pi, 3601)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    projections = X @ directions.T
    gaps = projections[y == 1].min(axis=0) - projections[y == 0].max(axis=0)
    assert gaps.max() >= 0.99 * margin  # 0.99: the sweep of directions may miss the best one by 0.05°


def test_the_separability_check_can_say_no():
    X, y = data.two_moons(200, rng=np.random.default_rng(0))
    assert not is_linearly_separable(X, y)


def test_regression_1d_without_noise_is_the_sine_curve_on_sorted_inputs():
    X, y = data.regression_1d(50, noise=0.0, rng=np.random.default_rng(0))
    x = X[:, 0]
    assert np.all(np.diff(x) >= 0) and x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_allclose(y, np.sin(2 * np.pi * x), rtol=0, atol=1e-15)


def test_circles_puts_the_inner_circle_inside_the_outer_one():
    X, y = data.circles(200, noise=0.0, factor=0.5, rng=np.random.default_rng(0))
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.5)


# ---------------------------------------------------------------- digits
def test_digits_are_1797_images_of_64_pixels_in_0_1_with_10_classes():
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


# ---------------------------------------------------------------- train_test_split
def test_train_test_split_stratifies_by_class():
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, rng=np.random.default_rng(0))
    assert len(X_train) + len(X_test) == len(X) and len(y_test) == len(X_test)
    assert len(X_test) == pytest.approx(0.25 * len(X), abs=1)
    overall = np.bincount(y) / len(y)
    in_test = np.bincount(y_test, minlength=10) / len(y_test)
    # stratified: each class's share in the test set is its share overall, up to one sample
    assert np.max(np.abs(in_test - overall)) <= 1.0 / len(y_test)


def test_train_test_split_keeps_rows_and_labels_together_and_is_deterministic():
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.arange(20) % 2
    first = data.train_test_split(X, y, test_size=0.3, rng=np.random.default_rng(1))
    second = data.train_test_split(X, y, test_size=0.3, rng=np.random.default_rng(1))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    X_train, X_test, y_train, y_test = first
    for rows, labels in ((X_train, y_train), (X_test, y_test)):
        np.testing.assert_array_equal(y[(rows[:, 0] // 2).astype(int)], labels)
    assert sorted(np.concatenate([X_train[:, 0], X_test[:, 0]])) == sorted(X[:, 0])


def test_train_test_split_of_a_regression_target_does_not_stratify():
    X, y = data.regression_1d(40, rng=np.random.default_rng(2))
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, rng=np.random.default_rng(3))
    assert len(X_test) == 10 and len(y_train) == 30


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("name", GENERATED)
def test_too_few_samples_are_rejected(name):
    function = GENERATED[name][0]
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= 2, got 0"):
        function(0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"n_samples must be an integer, got 10\.5"):
        function(10.5, rng=np.random.default_rng(0))


@pytest.mark.parametrize("function", [data.two_moons, data.circles, data.regression_1d])
def test_negative_noise_is_rejected(function):
    with pytest.raises(ValueError, match=r"noise must be in \[0, inf\], got -0\.1"):
        function(10, noise=-0.1, rng=np.random.default_rng(0))


def test_a_negative_margin_is_rejected():
    with pytest.raises(ValueError, match=r"margin must be in \[0, inf\], got -1"):
        data.linearly_separable(10, margin=-1.0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5])
def test_circles_factor_outside_0_1_is_rejected(factor):
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        data.circles(10, factor=factor, rng=np.random.default_rng(0))


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("bad_rng", [0, np.random.RandomState(0)], ids=["int", "RandomState"])
def test_an_rng_that_is_not_a_generator_is_rejected(name, bad_rng):
    function = GENERATED[name][0]
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .* got (int|RandomState)"):
        function(10, rng=bad_rng)


def test_train_test_split_rejects_a_bad_rng():
    X, y = data.two_moons(10, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        data.train_test_split(X, y, rng=42)


# ---------------------------------------------------------------- digits_overfitting_split
def test_digits_overfitting_split_partitions_the_digits():
    X, y = data.digits()
    X_train, y_train, X_val, y_val, X_test, y_test = data.digits_overfitting_split(150, rng=np.random.default_rng(0))
    assert X_train.shape == (150, 64) and y_train.shape == (150,)
    assert len(X_val) + len(X_test) == len(X) - 150 and abs(len(X_val) - len(X_test)) <= 1
    assert set(np.unique(y_train)) == set(range(10))  # stratified: every digit is in the training set
    rows = [tuple(row) for part in (X_train, X_val, X_test) for row in part]
    assert sorted(rows) == sorted(tuple(row) for row in X)  # together they are the data set, no more
    assert np.array_equal(np.sort(np.concatenate([y_train, y_val, y_test])), np.sort(y))


def test_digits_overfitting_split_is_deterministic_for_a_seed():
    first = data.digits_overfitting_split(100, rng=np.random.default_rng(4))
    second = data.digits_overfitting_split(100, rng=np.random.default_rng(4))
    third = data.digits_overfitting_split(100, rng=np.random.default_rng(5))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], third[0])


@pytest.mark.parametrize("n_train, error, message", [
    (5, ValueError, r"n_train must be an integer >= 10, got 5"),
    (1790, ValueError, r"n_train must leave at least 20 examples to hold out, got 1790 of 1797"),
    (150.0, TypeError, r"n_train must be an integer, got 150\.0"),
])
def test_digits_overfitting_split_rejects_a_bad_training_size(n_train, error, message):
    with pytest.raises(error, match=message):
        data.digits_overfitting_split(n_train, rng=np.random.default_rng(0))


@pytest.mark.parametrize("X, y, kwargs, message", [
    (np.ones((10, 2)), np.arange(9) % 2, {}, r"X and y must hold one row per example, got shapes \(10, 2\) and \(9,\)"),
    (np.ones((10, 2)), np.arange(10) % 2, {"test_size": 1.5}, r"test_size must be in \(0, 1\), got 1.5"),
    (np.ones((10, 2)), np.arange(10) % 2, {"test_size": 10}, r"test_size must leave at least one training example"),
    (np.ones((10, 2)), np.arange(10), {}, r"stratify needs at least 2 examples of each class, got 1 of class 0"),
])
def test_train_test_split_refuses_bad_arguments_in_its_own_words(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.train_test_split(X, y, rng=np.random.default_rng(0), **kwargs)
