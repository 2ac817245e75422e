"""Two in-place updates that the adaptive optimizers repeat: a running average and a sum of squares.

Each changes its first argument in place and makes one temporary array, instead of the three or
four that the one-line formula would make; the arithmetic is done in the order torch does it.
"""
import numpy as np


def lerp_(average, target, weight):
    """average ← average + w·(target − average), in place: move a fraction w of the way to target.

    This is the running average  average ← (1 − w)·average + w·target  (w = 1 − β).
    For w ≥ 0.5 it is computed from the other end, target − (1 − w)·(target − average), so that
    w = 1 gives exactly ``target`` (torch's ``lerp_`` does the same).
    """
    difference = np.subtract(target, average)
    if weight < 0.5:
        difference *= weight
        average += difference
    else:
        difference *= 1 - weight
        np.subtract(target, difference, out=average)


def add_weighted_square_(total, x, weight):
    """total ← total + w·x², in place (torch's ``total.addcmul_(x, x, value=w)``).

    Computed as (w·x)·x: when w is small (1 − β₂ = 0.001) that keeps a large x from overflowing
    before it is scaled down.
    """
    square = np.multiply(x, weight)
    square *= x
    total += square
