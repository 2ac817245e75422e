"""Checks shared by the whole library (internal: the public functions and modules call these).

Every public function checks what it is given where it enters the library and, when something is
wrong, raises an error that says what was expected and what came, before any state is changed.
"""
import math
import numbers

import numpy as np

from .errors import NonFiniteError


def as_float_array(x, name, *, ndim=None, allow_empty=False, finite=True):
    """Return ``x`` as a floating-point ndarray, or raise a clear error.

    Integer and boolean arrays become float64; float16, float32 and float64 arrays keep their dtype.
    ``ndim`` may be an int or a tuple of allowed ints. ``finite=False`` lets NaN and inf through.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":
        array = x  # the common case, and every array the library passes itself: nothing to convert
    else:
        array = _as_float_ndarray(x, name)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            wanted = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {wanted}, got {array.ndim}-D with shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {array.shape}); expected at least one element")
    if finite:
        bad = count_non_finite(array)
        if bad:
            raise NonFiniteError(f"{name} must be finite, got {bad} NaN or infinite value(s)")
    return array


def count_non_finite(array):
    """How many elements of the float ndarray ``array`` are NaN or infinite.

    ‖x‖² = x·x (one product, no temporary array) is finite only if every element is, so the common
    case costs one dot product; only when it is not (which a huge finite x, above ~1e154 in float64,
    can also give) are the elements counted one by one.
    """
    if math.isfinite(np.vdot(array, array)):
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def _as_float_ndarray(x, name):
    """``x`` as an ndarray of a floating dtype (integers and booleans become float64), or raise."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if type(x).__module__.startswith("torch"):
        raise TypeError(f"{name} must be a NumPy array, got a torch {type(x).__name__}; "
                        "convert it with introdl.torch_twin.to_numpy")
    try:
        array = np.asarray(x)
    except Exception:  # ragged lists and other oddities
        raise TypeError(f"{name} must be an array of numbers, got a {type(x).__name__} that is not one "
                        "(rows of different lengths?)") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def check_same_shape(a, b, name_a, name_b):
    """Raise if two arrays differ in shape (no silent broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def check_number(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float if it lies in the interval, else raise ``ValueError``.

    ``low_open``/``high_open`` exclude the end points, so ``low=0, high=1, high_open=True`` is [0, 1).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")
    return value


def check_positive_int(value, name, *, minimum=1):
    """Return ``value`` if it is an int >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_rng(rng, name="rng"):
    """Return a ``np.random.Generator``: the one given, or a fresh unseeded one for ``None``."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def as_pair(prediction, target, names=("prediction", "target")):
    """Two float arrays of the same shape (a loss's prediction and target), or raise."""
    prediction = as_float_array(prediction, names[0])
    target = as_float_array(target, names[1])
    check_same_shape(prediction, target, *names)
    return prediction, target


def check_unit_interval(values, name):
    """Raise unless every value lies in [0, 1] (probabilities, binary targets)."""
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got values from {values.min():g} to {values.max():g}"
        )


def as_logits_and_labels(logits, labels):
    """Logits (N, C) as a float array and labels (N,) as integers in [0, C), or raise."""
    z = as_float_array(logits, "logits", ndim=2)
    try:
        labels_array = np.asarray(labels)
    except Exception:  # ragged lists and other oddities
        raise TypeError(f"labels must be integer class indices of shape (N,), got a {type(labels).__name__} "
                        "that is not one (rows of different lengths?)") from None
    if labels_array.dtype == bool or not np.issubdtype(labels_array.dtype, np.integer):
        raise TypeError(
            f"labels must be integer class indices of shape (N,), got dtype {labels_array.dtype}; "
            "CrossEntropyLoss takes class numbers such as [2, 0, 1], not one-hot or float targets"
        )
    if labels_array.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({z.shape[0]},) to match logits {z.shape}, "
                         f"got {labels_array.shape}")
    n_classes = z.shape[1]
    if labels_array.min() < 0 or labels_array.max() >= n_classes:
        raise ValueError(
            f"labels must be in [0, {n_classes - 1}] for logits with C = {n_classes} classes, "
            f"got values from {labels_array.min()} to {labels_array.max()}"
        )
    return z, labels_array


def check_axis(axis, ndim, name="axis"):
    """Return ``axis`` if it is an int that indexes an array of ``ndim`` dimensions, else raise."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {axis!r} ({type(axis).__name__})")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim - 1}] for a {ndim}-D array, got {axis}")
    return int(axis)
