"""Self-check for exercises: compare your function with the reference on fresh random inputs.

    from introdl.check import check_function
    check_function(my_sigmoid, introdl.functional.sigmoid,
                   inputs=lambda rng: (rng.normal(size=(4, 3)),), name="sigmoid",
                   hint="σ(z) = 1 / (1 + e^(−z))")

Every call draws new inputs, so an answer that only fits one example cannot pass. On success it
prints one line; on a mismatch it raises ``AssertionError`` with what was expected, what came,
and the hint. The graded cells of the exercises call it, and a learner without a grader gets the
same feedback by running them.
"""
import numpy as np

PASS_MARK = "✓"


def _describe(value):
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.6g}"
    with np.printoptions(precision=4, threshold=12, edgeitems=2):
        return f"array of shape {array.shape}:\n{array}"


def _not_done_yet(name):
    return AssertionError(
        f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code "
        "and run that cell again."
    )


def compare(got, expected, *, name, rtol=1e-6, atol=1e-9, hint="", call=""):
    """Raise a kind, specific ``AssertionError`` unless ``got`` matches ``expected``."""
    suffix = f"\nHint: {hint}" if hint else ""
    where = f" for {call}" if call else ""
    if isinstance(expected, tuple):  # several results, e.g. (grad_x, grad_W, grad_b)
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(f"{name} should return {len(expected)} values{where}, got {_describe_kind(got)}.{suffix}")
        for index, (got_item, expected_item) in enumerate(zip(got, expected)):
            compare(got_item, expected_item, name=f"{name} (returned value {index + 1})", rtol=rtol, atol=atol,
                    hint=hint, call=call)
        return
    if got is None:
        raise AssertionError(f"{name} returned None{where}; did you forget a `return`?{suffix}")
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} returned {type(got).__name__}{where}, expected numbers.{suffix}") from None
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        raise AssertionError(
            f"{name} returned shape {got_array.shape}{where}, expected shape {expected_array.shape}.{suffix}"
        )
    if not np.allclose(got_array, expected_array, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got_array - expected_array)))
        raise AssertionError(
            f"{name} gave a different answer{where}.\n"
            f"Expected {_describe(expected_array)}\nGot {_describe(got_array)}\n"
            f"(largest difference {worst:.3g}){suffix}"
        )


def check_function(student, reference, *, inputs, name=None, trials=5, rtol=1e-6, atol=1e-9, hint=""):
    """Call ``student(*args)`` and ``reference(*args)`` on ``trials`` fresh inputs and compare.

    inputs: a function ``rng -> tuple of arguments``; a fresh unseeded Generator is used each
    call, so the inputs are new every time. Arrays are copied before each call, so a function
    that modifies its input cannot disturb the reference.
    """
    name = name or getattr(student, "__name__", "your function")
    rng = np.random.default_rng()
    for _ in range(trials):
        args = inputs(rng)
        expected = reference(*_copies(args))
        try:
            got = student(*_copies(args))
        except NotImplementedError:
            raise _not_done_yet(name) from None
        except Exception as err:  # a crash inside the student's code: say where, keep the hint
            suffix = f"\nHint: {hint}" if hint else ""
            raise AssertionError(
                f"{name} raised {type(err).__name__}: {err}\nfor {_signature(args)}{suffix}"
            ) from err
        compare(got, expected, name=name, rtol=rtol, atol=atol, hint=hint, call=_signature(args))
    print(f"{PASS_MARK} {name} matches the reference on {trials} random inputs.")


def check_value(got, expected, *, name, rtol=1e-6, atol=1e-9, hint=""):
    """Compare one value with the expected one and print a pass line."""
    compare(got, expected, name=name, rtol=rtol, atol=atol, hint=hint)
    print(f"{PASS_MARK} {name} is correct.")


def check_true(condition, *, name, message, hint=""):
    """Assert a property (e.g. 'the loss went down') with a message that explains it."""
    if not condition:
        suffix = f"\nHint: {hint}" if hint else ""
        raise AssertionError(f"{name}: {message}{suffix}")
    print(f"{PASS_MARK} {name}.")


def _describe_kind(value):
    if isinstance(value, (tuple, list)):
        return f"{len(value)} values"
    return f"one {type(value).__name__}"


def _copies(args):
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


def _signature(args):
    parts = [f"array{np.shape(a)}" if isinstance(a, np.ndarray) else repr(a) for a in args]
    return f"inputs ({', '.join(parts)})"
