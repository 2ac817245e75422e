"""Checks for the exercises: compare a learner's function with a reference on seeded random inputs.

Every graded test cell of the book has this form (it imports what it uses, so nothing a learner's
cell defines or rebinds can change its result)::

    import numpy as np
    import introdl.functional as F
    from introdl.check import check_function

    def inputs(rng):
        n, m, d = rng.integers(1, 6, size=3)
        return rng.normal(size=(n, m)), rng.normal(size=(d, m)), rng.normal(size=d)

    check_function(dense_forward, F.dense_forward, inputs=inputs, seed=301, name="dense_forward",
                   forbid=["introdl.functional.dense_forward"], hint="...")

What ``check_function`` guarantees:

* **Deterministic.** Test ``t`` (0, 1, ...) draws its inputs from
  ``np.random.default_rng([seed, t])``, so the same answer always gets the same verdict, and a
  failing case can be rebuilt on its own: the message prints the seed, the test number and the
  inputs as lines that can be pasted into a cell.
* **The answer may not call the answer.** While the learner's function runs, a call to any
  function named in ``forbid`` (the library's or torch's version of the function being written)
  is recorded, however it was imported or renamed, and the check fails saying so.
* **dtype first.** A float32 (or float16) result fails with its own message before any value is
  compared; values are compared with tolerances that fit float64.
* **Aliasing and in-place changes**, where the exercise promises them: ``new_arrays=True`` fails
  a result that shares memory with an input; ``inputs_unchanged=True`` fails a function that
  changes an input array.
* **A time limit.** A call that has not returned after ``time_limit`` seconds is stopped (with
  ``signal.setitimer``, when the check runs in the main thread of a Unix process, as in Jupyter)
  and the check says it did not return in time.
* **Readable feedback.** The message comes first; the frames of this module are hidden from
  IPython's traceback (``__tracebackhide__``); inputs are described by their shape.

On success each check prints one line starting with ``✓``; on failure it raises
``AssertionError``, which is what nbgrader counts as a failed test.
"""
import contextlib
import functools
import importlib
import importlib.util
import inspect
import linecache
import signal
import sys
import threading
import traceback
import warnings

import numpy as np

PASS_MARK = "✓"
NOT_DONE = "is not implemented yet"
LARGEST_PRINTED = 300  # arrays with more entries are described by shape, not printed in full


class _OutOfTime(BaseException):
    """Raised inside the learner's call by the timer; a BaseException, so `except Exception` in
    the learner's code cannot swallow it."""


class _ForbiddenCall(BaseException):
    """Raised after a learner's call that used a forbidden function."""


# The failure is raised by this one line, compiled under its own name: IPython always shows the
# frame that raised, and this way that frame shows this line instead of the library's code.
_RAISE_LINE = "raise AssertionError(message)  # the check failed: the message below says why\n"
_RAISE_FILE = "<introdl.check>"
linecache.cache[_RAISE_FILE] = (len(_RAISE_LINE), None, [_RAISE_LINE], _RAISE_FILE)
_RAISE = compile(_RAISE_LINE, _RAISE_FILE, "exec")


def _fail(message):
    __tracebackhide__ = True
    exec(_RAISE, {"message": message})


def _reported(check):
    """Make ``check`` raise its AssertionError from ``_fail``: the learner then sees the message,
    not the frames of this module (IPython hides frames whose locals hold ``__tracebackhide__``)."""
    @functools.wraps(check)
    def public(*args, **kwargs):
        __tracebackhide__ = True
        try:
            return check(*args, **kwargs)
        except AssertionError as failure:
            message = str(failure)
        _fail(message)  # outside the except block, so no "During handling..." second traceback
    return public


# --- the public checks ------------------------------------------------------------------------


@_reported
def check_function(student, reference, *, inputs, seed, name=None, trials=5, rtol=1e-9, atol=1e-12,
                   hint="", forbid=(), new_arrays=False, inputs_unchanged=False, time_limit=3.0):
    """Call ``student(*args)`` and ``reference(*args)`` on ``trials`` seeded inputs and compare.

    student, reference: the function to check and the one that gives the right answer.
    inputs: a function ``rng -> tuple of arguments``; test ``t`` gets
        ``np.random.default_rng([seed, t])``. Arrays are copied for the reference, so a learner's
        function that changes its inputs cannot disturb it.
    seed: an int, required: the same answer always meets the same inputs.
    rtol, atol: as in ``np.allclose``; the defaults suit float64 results computed in another order.
    forbid: dotted names such as ``"introdl.functional.dense_forward"`` or
        ``"torch.nn.functional.linear"``; calling one of them while ``student`` runs fails the check.
    new_arrays: the results must share no memory with any input array.
    inputs_unchanged: the input arrays must be the same after the call.
    time_limit: seconds one call of ``student`` may take (the solutions take milliseconds; chapter 12's
        training loop, which takes longer, passes its own limit).

    Raises ``AssertionError`` with a message for the learner; prints a ``✓`` line on success.
    Raises ``ValueError`` for a ``forbid`` name that does not exist (a mistake in the test).
    """
    __tracebackhide__ = True
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"check_function needs seed=<an int> so that every run draws the same inputs, "
                        f"got {seed!r}")
    name = name or getattr(student, "__name__", "your function")
    forbidden = _resolve(forbid)
    hint_line = f"\nHint: {hint}" if hint else ""

    def draw(trial):
        args = inputs(np.random.default_rng([int(seed), trial]))
        return args if isinstance(args, tuple) else (args,)

    for trial in range(trials):
        args = draw(trial)
        case = _Case(student, name, inputs, args, seed, trial, trials)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(*_copies(args))
        try:
            got = _call_student(student, args, case, forbidden, time_limit, hint_line)
        except AssertionError:
            if not _newly_imported(forbidden):
                raise
        if _newly_imported(forbidden):  # the call imported a package named in forbid: watch it too
            forbidden = _resolve(forbid)
            args = draw(trial)
            got = _call_student(student, args, case, forbidden, time_limit, hint_line)
        if inputs_unchanged:
            _check_inputs_unchanged(case, args, hint_line)
        if new_arrays:
            _check_new_arrays(case, got, args, hint_line)
        _compare(got, expected, name=name, rtol=rtol, atol=atol, where=case, hint_line=hint_line)
    print(f"{PASS_MARK} {name} matches the reference on {trials} test inputs (seed {seed}).")
    return True


@_reported
def partial_credit(points, parts):
    """Run independent checks and give ``points * passed / len(parts)``, nbgrader's partial credit.

    parts: functions without arguments, each running one check (e.g. ``lambda: check_function(...)``)
        that raises ``AssertionError`` when its part is wrong.
    Returns the points earned as a float: a graded cell that ends with this call shows the number,
    and nbgrader counts a number shown by a test cell as the points it earned. When no part
    passes, it raises the first part's ``AssertionError`` (so a blank answer scores 0 with the
    usual message); a failing part's message is printed (not to stderr: nbgrader gives 0 to a
    cell that writes there).
    """
    __tracebackhide__ = True
    passed, failures = 0, []
    for part in parts:
        try:
            part()
            passed += 1
        except AssertionError as failure:
            failures.append(failure)
            print(f"✗ {failure}\n")
    if passed == 0:
        raise AssertionError(str(failures[0])) from None
    earned = float(points) * passed / len(parts)
    print(f"{passed} of {len(parts)} parts right: {earned:g} of {points:g} points.")
    return earned


@_reported
def check_value(got, expected, *, name, rtol=1e-9, atol=1e-12, hint=""):
    """Compare one value with the expected one and print a pass line."""
    __tracebackhide__ = True
    _compare(got, expected, name=name, rtol=rtol, atol=atol, where=None,
             hint_line=f"\nHint: {hint}" if hint else "")
    print(f"{PASS_MARK} {name} is correct.")


@_reported
def check_true(condition, *, name, message, hint=""):
    """Assert a property (e.g. 'the loss went down') with a message that explains it."""
    __tracebackhide__ = True
    if not condition:
        suffix = f"\nHint: {hint}" if hint else ""
        raise AssertionError(f"{name}: {message}{suffix}")
    print(f"{PASS_MARK} {name}.")


@_reported
def compare(got, expected, *, name, rtol=1e-9, atol=1e-12, hint=""):
    """Raise a specific ``AssertionError`` unless ``got`` matches ``expected`` (dtype first)."""
    __tracebackhide__ = True
    _compare(got, expected, name=name, rtol=rtol, atol=atol, where=None,
             hint_line=f"\nHint: {hint}" if hint else "")


# --- one test case and how to reproduce it ---------------------------------------------------


class _Case:
    """One seeded test: its place, its inputs, and how to rebuild it in a cell."""

    def __init__(self, student, name, inputs, args, seed, trial, trials):
        self.name, self.seed, self.trial, self.trials = name, seed, trial, trials
        self.names = _argument_names(student, len(args))
        self.function = getattr(student, "__name__", "f")
        self.inputs_name = getattr(inputs, "__name__", "inputs")
        self.before = _copies(args)  # as they were before the learner's call

    def title(self):
        return f"test {self.trial + 1} of {self.trials}, seed {self.seed}"

    def shapes(self):
        return ", ".join(f"{label}: {_shape_of(value)}" for label, value in zip(self.names, self.before))

    def reproduce(self):
        """Lines a learner can paste into a cell to run this case again."""
        lines = []
        for label, value in zip(self.names, self.before):
            written = _literal(value, prefix=f"    {label} = np.array(")
            if written is None:
                break
            lines.append(f"    {label} = {written}")
        else:
            # the call only where the checked function is the learner's own (not a wrapper of the test)
            call = f"    {self.function}({', '.join(self.names)})" if self.function == self.name else ""
            return "To run this case yourself:\n" + "\n".join(lines + ([call] if call else []))
        source = (f"{self.inputs_name}(np.random.default_rng([{self.seed}, {self.trial}]))"
                  if self.inputs_name.isidentifier() else
                  f"the test cell's inputs function with np.random.default_rng([{self.seed}, {self.trial}])")
        return f"This case's inputs are {source}."


def _argument_names(function, count):
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) >= count and all(n.isidentifier() for n in names[:count]):
        return names[:count]
    return [f"arg{index + 1}" for index in range(count)]


def _shape_of(value):
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, {value.dtype}"
    if isinstance(value, (bool, int, float, np.number)):
        return repr(_plain(value))
    if isinstance(value, (list, tuple)) and len(value) <= 12:
        return repr(value)
    return type(value).__name__


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _literal(value, prefix=""):
    """Python source that rebuilds ``value`` exactly, or None if there is none (a model, a function)."""
    if isinstance(value, np.ndarray):
        if value.size > LARGEST_PRINTED or value.dtype.kind not in "biuf":
            return None
        body = np.array2string(value, separator=", ", threshold=sys.maxsize, floatmode="unique",
                               max_line_width=100, prefix=prefix)
        dtype = "" if value.dtype in (np.float64, np.int64) else f", dtype=np.{value.dtype}"
        if value.dtype == np.bool_:
            dtype = ", dtype=bool"
        return f"np.array({body}{dtype})"
    if isinstance(value, (bool, int, float, np.number)) or value is None:
        return repr(_plain(value))
    if isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float)) for v in value):
        return repr(value)
    return None


def _copies(args):
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


# --- running the learner's function ----------------------------------------------------------


def _call_student(student, args, case, forbidden, time_limit, hint_line):
    __tracebackhide__ = True
    called = []
    try:
        # Warnings are silenced: nbgrader scores 0 for a cell that writes to stderr, and a warning
        # (say NumPy's "overflow in exp" in a run that diverges on purpose) is not a wrong answer.
        with _time_limit(time_limit), _watching(forbidden, called), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = student(*args)
    except NotImplementedError:
        raise AssertionError(f"{case.name} {NOT_DONE}: replace `raise NotImplementedError()` with "
                             f"your code and run that cell again.") from None
    except _OutOfTime:
        raise AssertionError(
            f"{case.name} did not return within {time_limit:g} s ({case.title()}) — does it loop "
            f"forever?\nInputs: {case.shapes()}\n{case.reproduce()}{hint_line}") from None
    except Exception as err:  # a crash inside the learner's code: where, and the same case again
        if called:
            raise AssertionError(_forbidden_message(case, called, hint_line)) from None
        raise AssertionError(
            f"{case.name} raised {type(err).__name__}: {err} ({case.title()})\n"
            f"{_learner_frames(err)}Inputs: {case.shapes()}\n{case.reproduce()}{hint_line}") from None
    if called:
        raise AssertionError(_forbidden_message(case, called, hint_line))
    return got


def _forbidden_message(case, called, hint_line):
    return (f"{case.name} called {called[0]}, a ready-made version of the function this exercise asks "
            f"you to write. Write it yourself (here that function is blocked while the check runs)."
            f"{hint_line}")


def _learner_frames(err):
    """The learner's own lines in a traceback (this module's frames left out)."""
    frames = [frame for frame in traceback.extract_tb(err.__traceback__) if frame.filename != __file__]
    if not frames:
        return ""
    lines = [f"  line {frame.lineno} of {frame.name}: {frame.line}" for frame in frames[-3:]]
    return "where:\n" + "\n".join(lines) + "\n"


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise _OutOfTime in the main thread after ``seconds``; no limit where signals are unavailable."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def out_of_time(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _resolve(names):
    """Dotted names -> (name, code objects, builtin objects) of the functions to watch for.

    A name in a package that is not imported yet (torch, in a kernel that has not needed it) is
    left unresolved, with nothing to watch (None): code cannot call into a package that is not
    loaded, and importing torch only to watch it would cost every check two seconds. If the
    learner's call imports the package, check_function resolves the name and runs the call again.
    """
    if isinstance(names, str):
        names = [names]
    resolved = []
    for dotted in names:
        package = dotted.split(".")[0]
        if package not in sys.modules:
            if importlib.util.find_spec(package) is None:
                raise ValueError(f"forbid: no function {dotted!r} (there is no package {package!r})")
            resolved.append((dotted, None, None))
            continue
        target = _lookup(dotted)
        codes, objects = set(), set()
        for candidate in (target, getattr(target, "__wrapped__", None), getattr(target, "__func__", None)):
            if candidate is None:
                continue
            code = getattr(candidate, "__code__", None)
            if code is not None:
                codes.add(code)
            else:
                objects.add(id(candidate))
        resolved.append((dotted, codes, objects))
    return resolved


def _lookup(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                target = getattr(target, attribute)
        except AttributeError:
            break
        return target
    raise ValueError(f"forbid: no function {dotted!r} (expected a dotted name such as "
                     f"'introdl.functional.dense_forward')")


def _newly_imported(forbidden):
    """Whether a package of an unresolved forbidden name has been imported since it was resolved."""
    return any(codes is None and dotted.split(".")[0] in sys.modules for dotted, codes, _ in forbidden)


@contextlib.contextmanager
def _watching(forbidden, called):
    """Record in ``called`` every call of a forbidden function while the block runs."""
    codes = {code: dotted for dotted, cs, _ in forbidden for code in cs or ()}
    objects = {obj: dotted for dotted, _, os in forbidden for obj in os or ()}
    if not codes and not objects:  # nothing loaded yet that could be called
        yield
        return

    def profile(frame, event, arg):
        if event == "call":
            found = codes.get(frame.f_code)
        elif event == "c_call":
            found = objects.get(id(arg))
        else:
            return
        if found and found not in called:
            called.append(found)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


# --- comparing results -----------------------------------------------------------------------


def _check_inputs_unchanged(case, args, hint_line):
    __tracebackhide__ = True
    for label, before, after in zip(case.names, case.before, args):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=before.dtype.kind == "f"):
            raise AssertionError(
                f"{case.name} changed its input `{label}` in place ({case.title()}); this exercise asks "
                f"you to leave the inputs as they are. Compute a new array (for example "
                f"`{label} - ...` instead of `{label} -= ...`).\nInputs: {case.shapes()}\n"
                f"{case.reproduce()}{hint_line}")


def _arrays_in(value):
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [array for item in value for array in _arrays_in(item)]
    return []


def _check_new_arrays(case, got, args, hint_line):
    __tracebackhide__ = True
    for result in _arrays_in(got):
        for label, arg in zip(case.names, args):
            if isinstance(arg, np.ndarray) and np.shares_memory(result, arg):
                raise AssertionError(
                    f"{case.name} returned an array that shares memory with its input `{label}` "
                    f"({case.title()}): changing one would change the other. This exercise asks for "
                    f"new arrays: use `{label}.copy()` or compute a new array.{hint_line}")


def _compare(got, expected, *, name, rtol, atol, where, hint_line):
    __tracebackhide__ = True
    context = f" ({where.title()})" if where else ""
    tail = (f"\nInputs: {where.shapes()}\n{where.reproduce()}" if where else "") + hint_line
    if isinstance(expected, tuple):  # several results, e.g. (grad_x, grad_W, grad_b)
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(f"{name} should return {len(expected)} values{context}, "
                                 f"got {_describe_kind(got)}.{tail}")
        for index, (got_item, expected_item) in enumerate(zip(got, expected)):
            _compare(got_item, expected_item, name=f"{name} (returned value {index + 1})", rtol=rtol,
                     atol=atol, where=where, hint_line=hint_line)
        return
    if got is None and expected is not None:
        raise AssertionError(f"{name} returned None{context}; did you forget a `return`?{tail}")
    if expected is None:
        if got is not None:
            raise AssertionError(f"{name} returned {got!r}{context}, expected None.{tail}")
        return
    dtype = getattr(got, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8:
        raise AssertionError(f"{name} returned {dtype} numbers{context}; this exercise needs float64, "
                             f"NumPy's default. Leave out conversions such as .astype(np.{dtype}) "
                             f"or np.{dtype}(...).{tail}")
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} returned {type(got).__name__}{context}, expected numbers.{tail}") from None
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        raise AssertionError(f"{name} returned shape {got_array.shape}{context}, expected shape "
                             f"{expected_array.shape}.{tail}")
    if not np.allclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True):
        difference = np.abs(got_array - expected_array)
        difference[np.isnan(difference)] = np.inf
        index = np.unravel_index(int(np.argmax(difference)), difference.shape) if difference.ndim else ()
        at = f" at index {tuple(int(i) for i in index)}" if index else ""
        raise AssertionError(
            f"{name} gave a different answer{context}.\n"
            f"Largest difference{at}: expected {expected_array[index]:.10g}, got {got_array[index]:.10g}"
            f"{_whole(expected_array, got_array)}{tail}")


def _whole(expected, got):
    if expected.size <= 1 or expected.size > 24:
        return ""
    with np.printoptions(precision=6, suppress=True):
        return f"\nExpected {expected}\nGot      {got}".replace("\n", "\n", -1)


def _describe_kind(value):
    if isinstance(value, (tuple, list)):
        return f"{len(value)} values"
    if isinstance(value, np.ndarray):
        return f"one array of shape {value.shape}"
    return f"one {type(value).__name__}"
