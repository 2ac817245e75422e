"""Datasets that need no network: generated on the spot, or bundled with scikit-learn.

Each function takes an explicit ``rng`` (a ``np.random.Generator``; None draws an unseeded one)
and returns float64 features X: (N, d) and targets y: (N,). Bad arguments raise ``TypeError`` or
``ValueError`` naming what was expected and what came.
"""
import numpy as np

from ._validation import check_number, check_positive_int, check_rng


def _seed(rng):
    # scikit-learn wants an int seed; drawing it from rng keeps everything tied to one Generator.
    return int(check_rng(rng).integers(2**31 - 1))


def two_moons(n_samples=200, *, noise=0.1, rng=None):
    """Two interleaved half circles, labels 0/1: a classic that no straight line can separate.

    Args: n_samples (int ≥ 2, default 200); noise (float ≥ 0, default 0.1): the standard deviation
    of the Gaussian noise added to each point; rng (default None).
    Returns: X (n_samples, 2) float64, y (n_samples,) int64.
    Source: https://scikit-learn.org/stable/modules/generated/sklearn.datasets.make_moons.html
    """
    check_positive_int(n_samples, "n_samples", minimum=2)
    check_number(noise, "noise", low=0.0)
    from sklearn.datasets import make_moons  # imported here: scikit-learn takes a second to import

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=_seed(rng))
    return X.astype(np.float64), y.astype(np.int64)


def circles(n_samples=200, *, noise=0.05, factor=0.5, rng=None):
    """A small circle (label 1) inside a large one (label 0).

    Args: n_samples (int ≥ 2, default 200); noise (float ≥ 0, default 0.05); factor (float in (0, 1),
    default 0.5): the small radius over the large one; rng (default None).
    Returns: X (n_samples, 2) float64, y (n_samples,) int64.
    Source: https://scikit-learn.org/stable/modules/generated/sklearn.datasets.make_circles.html
    """
    check_positive_int(n_samples, "n_samples", minimum=2)
    check_number(noise, "noise", low=0.0)
    check_number(factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=_seed(rng))
    return X.astype(np.float64), y.astype(np.int64)


def linearly_separable(n_samples=200, *, margin=0.5, rng=None):
    """Two Gaussian blobs, labels 0/1, that a single perceptron can separate.

    The line through the origin normal to (1, 0.6) separates them with a gap of at least
    ``margin``: the few Gaussian draws that would stray into the gap are drawn again.

    Args: n_samples (int ≥ 2, default 200); margin (float ≥ 0, default 0.5); rng (default None).
    Returns: X (n_samples, 2) float64, y (n_samples,) int64, in random order.
    """
    check_positive_int(n_samples, "n_samples", minimum=2)
    check_number(margin, "margin", low=0.0)
    rng = check_rng(rng)
    y = (np.arange(n_samples) % 2).astype(np.int64)
    side = np.where(y == 1, 1.0, -1.0)
    normal = np.array([1.0, 0.6]) / np.hypot(1.0, 0.6)
    centres = side[:, None] * (1.0 + margin) * np.array([1.0, 0.6])
    X = centres + rng.normal(0.0, 0.7, (n_samples, 2))
    stray = side * (X @ normal) < margin / 2
    while stray.any():
        X[stray] = centres[stray] + rng.normal(0.0, 0.7, (int(stray.sum()), 2))
        stray = side * (X @ normal) < margin / 2
    order = rng.permutation(n_samples)
    return X[order], y[order]


def regression_1d(n_samples=100, *, noise=0.1, rng=None):
    """y = sin(2πx) + noise for x uniform in [0, 1], sorted by x.

    Args: n_samples (int ≥ 2, default 100); noise (float ≥ 0, default 0.1): the noise's standard
    deviation; rng (default None).
    Returns: X (n_samples, 1) float64, y (n_samples,) float64.
    """
    check_positive_int(n_samples, "n_samples", minimum=2)
    check_number(noise, "noise", low=0.0)
    rng = check_rng(rng)
    x = np.sort(rng.uniform(0.0, 1.0, n_samples))
    y = np.sin(2 * np.pi * x) + rng.normal(0.0, noise, n_samples)
    return x[:, None], y


def digits():
    """scikit-learn's bundled 8×8 handwritten digits: X (1797, 64) scaled to [0, 1], y (1797,) in 0..9.

    No network needed: the data ship with scikit-learn.
    Source: https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


def train_test_split(X, y, *, test_size=0.25, rng=None, stratify=True):
    """Split into (X_train, X_test, y_train, y_test), stratified by class when ``y`` is integer.

    Args:
        X: (N, ...) features; y: (N,) targets.
        test_size (float in (0, 1) or int in [1, N − 1], default 0.25): the fraction or number held out.
        rng (default None): where the shuffle comes from.
        stratify (bool, default True): keep each class's share in both parts (integer y only).

    Raises:
        ValueError: X and y of different lengths, a test_size out of range, or (stratified) a
        class with fewer than 2 examples.

    Source:
    https://scikit-learn.org/stable/modules/generated/sklearn.model_selection.train_test_split.html
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"X and y must hold one row per example, got shapes {X.shape} and {y.shape}")
    n = len(y)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        check_positive_int(test_size, "test_size")
        if test_size > n - 1:
            raise ValueError(f"test_size must leave at least one training example, got {test_size} of {n}")
    else:
        check_number(test_size, "test_size", low=0.0, high=1.0, low_open=True, high_open=True)
    use_strata = stratify and np.issubdtype(y.dtype, np.integer)
    if use_strata:
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            raise ValueError(f"stratify needs at least 2 examples of each class, got {counts.min()} of class "
                             f"{classes[counts.argmin()]}; pass stratify=False")
    from sklearn.model_selection import train_test_split as split

    return split(X, y, test_size=test_size, random_state=_seed(rng), stratify=y if use_strata else None)


def digits_overfitting_split(n_train=150, *, rng=None):
    """The digits split the book uses to study overfitting: few training examples, many held out.

    Args: n_train (int ≥ 10, default 150); rng (default None).

    Returns (X_train, y_train, X_val, y_val, X_test, y_test): n_train training examples (stratified,
    so every digit appears), and the rest shared evenly between a validation set (for choosing
    epochs, dropout rates, …) and a test set (touched only to report the final figures).
    """
    X, y = digits()
    check_positive_int(n_train, "n_train", minimum=10)
    if n_train > len(X) - 20:
        raise ValueError(f"n_train must leave at least 20 examples to hold out, got {n_train} of {len(X)}")
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=len(X) - n_train, rng=rng)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, rng=rng)
    return X_train, y_train, X_val, y_val, X_test, y_test
