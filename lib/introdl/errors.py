"""The library's own error: a number that should be finite is NaN or infinite."""


class NonFiniteError(ValueError):
    """An array that should hold finite numbers holds NaN or infinity, or an update would make one.

    Raised where such a number enters the library (an input, a gradient) and by an optimizer's
    ``step()`` that would make a parameter or its state NaN or infinite; the message names the
    cause. ``introdl.train.fit`` reports it as the reason training stopped. A ``ValueError``.
    """
