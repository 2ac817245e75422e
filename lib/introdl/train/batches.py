"""Mini-batches: each epoch visits every example once, in a new random order."""
import numpy as np

from .._validation import check_positive_int, check_rng


def minibatches(X, y, batch_size, *, rng, shuffle=True):
    """Yield (X_batch, y_batch) pairs that cover X and y once, without replacement.

    X: (N, ...), y: (N, ...). Each batch has ``batch_size`` rows except possibly the last,
    which holds the N mod batch_size left over. ``rng`` (a ``np.random.Generator``) draws the
    order; with ``shuffle=False`` the order is 0, 1, …, N − 1.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y must have the same number of examples, got {n} and {len(y)}")
    if n == 0:
        raise ValueError("cannot make batches from an empty dataset (N = 0)")
    batch_size = check_positive_int(batch_size, "batch_size")
    order = check_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]


def batches_per_epoch(n_examples, batch_size):
    """⌈N / B⌉: the number of optimizer steps in one epoch."""
    return -(-n_examples // batch_size)
