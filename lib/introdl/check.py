"""The exercises' self-check, and the verdict that the teacher's grader uses too.

Every graded test cell of the book is one line::

    from introdl.check import check_exercise
    check_exercise("ch04-mse", mse)

The exercise's spec (inputs, reference, tolerances, hint, seed) is in ``introdl.exercises``, not in
the cell. ``check_exercise`` runs the learner's function on the exercise's public test inputs
(test ``t`` draws from ``np.random.default_rng([seed, t])``, so a verdict never changes between
runs), compares with the reference, prints one line starting with ``✓`` on success and raises
``AssertionError`` otherwise: the message says what came and what was expected ("expected X,
got Y"), which test it was, the inputs as lines that can be pasted into a cell, and the hint.

This check runs in the learner's own kernel, so it is a help, not a mark: anything in that kernel
can be changed by the learner. Marks come from ``introdl.grading``, which calls ``run_case`` on
the learner's code in a separate process, on inputs the learner has not seen, and decides with
``judge`` in its own process.

What a case checks (``run_case``): NotImplementedError means "not implemented yet"; an exception
names the learner's own lines; ``time_limit`` seconds for ONE call of the function (stopped with
``signal.setitimer`` in the main thread of a Unix process); and where the exercise promises it,
that the inputs are unchanged (``inputs_unchanged``) and that the results share no memory with
the inputs (``new_arrays``). What ``judge`` compares (``_compare``): float64 first (a float32
result fails with its own message), then values with ``np.allclose``'s ``rtol``/``atol``.
"""
import contextlib
import functools
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


class OutOfTime(BaseException):
    """Raised inside the learner's call by the timer; a BaseException, so `except Exception` in
    the learner's code cannot swallow it."""


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


# --- the exercises' self-check ------------------------------------------------------------------


@_reported
def check_exercise(exercise_id, function):
    """Check the learner's ``function`` for the exercise ``exercise_id`` (e.g. "ch04-mse").

    Runs ``introdl.exercises.get(exercise_id)`` on its public seed: prints ``✓ ...`` when every
    test (and every part) passes; otherwise raises ``AssertionError`` with the first failing
    test's message of each failing part. Returns None.
    """
    __tracebackhide__ = True
    from introdl import exercises

    spec = exercises.get(exercise_id)
    results = _self_check(spec, spec.reference, function, (public_inputs(spec, trial) for trial in range(spec.trials)))
    failed = [message for _, _, message in results if message]
    if not failed:
        print(f"{PASS_MARK} {spec.name} matches the reference on {spec.trials} test inputs (seed {spec.seed}).")
        missing = unavailable_when_graded(spec, function)
        if missing:
            print(f"But when this exercise is graded, {', '.join(f'`{name}`' for name in missing)} will not be "
                  f"there: graded code gets {', '.join(spec.names)} and may import "
                  f"{', '.join(getattr(spec, 'allowed', ()))} only. Write that part yourself.")
        return
    if len(results) > 1:
        failed.append(parts_right(spec, results))
    raise AssertionError("\n\n".join(failed))


def unavailable_when_graded(spec, function):
    """What ``function`` uses that the grader's sandbox will not give it: ``["train.predict",
    "expit (scipy.special)"]``. Followed into the functions it calls that the notebook defines.

    Looks at the globals its code loads: a chapter name's attribute the exercise does not give
    (``train.predict`` where only ``train.minibatches`` is given), and a module, or an object of a
    module, outside the modules graded code may import (``introdl``, ``torch``, ``scipy``).
    A name the notebook defines outside the solution cells cannot be told apart here.
    """
    import types
    allowed = set(getattr(spec, "allowed", ())) | {"builtins", "__main__"}
    roots = {name.partition(".")[0] for name in getattr(spec, "names", ())}
    missing, seen, todo = [], set(), [function]
    while todo:
        current = todo.pop()
        code = getattr(current, "__code__", None)
        if code is None or code in seen:
            continue
        seen.add(code)
        namespace = getattr(current, "__globals__", {})
        for name, attribute in _globals_loaded(code):
            if name in roots:
                if name != "np" and attribute and f"{name}.{attribute}" not in spec.names:
                    missing.append(f"{name}.{attribute}")
                continue
            if name not in namespace:
                continue
            value = namespace[name]
            if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
                todo.append(value)
                continue
            module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            if not isinstance(module, str):
                continue
            # C parts of allowed modules go by a leading underscore (functools.reduce is _functools')
            if module.partition(".")[0].lstrip("_") not in allowed:
                missing.append(name if isinstance(value, types.ModuleType) else f"{name} ({module})")
    return list(dict.fromkeys(missing))


def _globals_loaded(code):
    """``(name, attribute)`` for each global name that ``code`` (and the code nested in it) loads;
    attribute: the one read from it right away (``train.predict``), or None."""
    import dis
    import types
    codes = [code]
    while codes:
        block = codes.pop()
        codes += [const for const in block.co_consts if isinstance(const, types.CodeType)]
        instructions = list(dis.get_instructions(block))
        for instruction, after in zip(instructions, instructions[1:] + [None]):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                reads = after is not None and after.opname in ("LOAD_ATTR", "LOAD_METHOD")
                yield instruction.argval, after.argval if reads else None


def _where(spec, trial, args, function):
    """A public test, its inputs named as the learner's function names its arguments."""
    names = getattr(spec, "arguments", ()) or (None if spec.call else _argument_names(function, len(args)))
    return Where(spec, trial, spec.trials, args, names=names)


def drawn_inputs(inputs, key):
    """``inputs(np.random.default_rng(key))`` as a tuple of arguments; key: ints, ``[seed, trial]``."""
    args = inputs(np.random.default_rng(key))
    return args if isinstance(args, tuple) else (args,)


def public_inputs(spec, trial):
    """The inputs of test ``trial`` of an exercise, drawn from its public seed."""
    return drawn_inputs(spec.inputs, [spec.seed, trial])


def _self_check(spec, reference, function, tests):
    """``judge``'s verdict on the learner's ``function`` against ``reference``, run here on
    ``tests`` (an iterable of argument tuples)."""
    cases = []
    for args in tests:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(*copies_of(args))
        shown = copies_of(args)  # as they were before the learner's call, which may change them
        cases.append((shown, run_case(spec, function, args), expected))
    return judge(spec, cases, where=lambda trial: _where(spec, trial, cases[trial][0], function))


def points_earned(spec, results):
    """``spec.points`` times the fraction of parts that passed."""
    return float(spec.points) * sum(message is None for _, _, message in results) / len(results)


def parts_right(spec, results):
    """The verdict's last line for an exercise of several parts: ``"2 of 3 parts right: 1 of 1.5 points."``"""
    right = sum(message is None for _, _, message in results)
    return f"{right} of {len(results)} parts right: {points_earned(spec, results):g} of {spec.points:g} points."


# --- one test case: the learner's function called once ------------------------------------------


class Failed:
    """What a case gives when the learner's call did not produce a result to compare."""

    def __init__(self, message):
        self.message = message

    def __repr__(self):
        return f"Failed({self.message!r})"


def run_case(spec, function, args):
    """Call the learner's ``function`` on one test's ``args`` as ``spec`` says (through
    ``spec.call`` when it has one), with the exercise's time limit on this one call.

    The time limit applies to each call of ``function`` (a test may call it many times).
    Returns the result, or a ``Failed`` whose message says what went wrong: not implemented yet,
    an exception (with the learner's own lines), out of time, an input changed in place, a result
    sharing memory with an input.
    """
    before = copies_of(args)

    def timed(*arguments, **keywords):  # the limit is on each call of the learner's function
        with limited_to(spec.time_limit):
            return function(*arguments, **keywords)

    try:
        with warnings.catch_warnings():
            # A warning (NumPy's "overflow in exp" in a run that diverges on purpose) is not a wrong answer.
            warnings.simplefilter("ignore")
            got = spec.run(timed, *args)
    except NotImplementedError:
        return Failed(f"{spec.name} {NOT_DONE}: replace `raise NotImplementedError()` with your code "
                      f"and run that cell again.")
    except OutOfTime:
        return Failed(f"{spec.name} did not return within {spec.time_limit:g} s (one call of "
                      f"{spec.function}) — does it loop forever?")
    except Exception as err:
        return Failed(f"{spec.name} raised {type(err).__name__}: {err}\n{_learner_frames(err)}".rstrip())
    names = _argument_names(function, len(args))
    if spec.inputs_unchanged:
        for label, old, new in zip(names, before, args):
            if isinstance(old, np.ndarray) and not np.array_equal(old, new, equal_nan=old.dtype.kind == "f"):
                return Failed(f"{spec.name} changed its input `{label}` in place; this exercise asks you to "
                              f"leave the inputs as they are. Compute a new array (for example "
                              f"`{label} - ...` instead of `{label} -= ...`).")
    if spec.new_arrays:
        for result in _arrays_in(got):
            for label, arg in zip(names, args):
                if isinstance(arg, np.ndarray) and np.shares_memory(result, arg):
                    return Failed(f"{spec.name} returned an array that shares memory with its input "
                                  f"`{label}`: changing one would change the other. This exercise asks "
                                  f"for new arrays: use `{label}.copy()` or compute a new array.")
    return got


def _learner_frames(err):
    """The learner's own lines in a traceback (this library's frames left out)."""
    library = __file__.rsplit("/", 1)[0]
    frames = [frame for frame in traceback.extract_tb(err.__traceback__) if not frame.filename.startswith(library)]
    if not frames:
        return ""
    lines = [f"  line {frame.lineno} of {frame.name}" + (f": {frame.line}" if frame.line else "")
             for frame in frames[-3:]]
    return "where:\n" + "\n".join(lines)


@contextlib.contextmanager
def limited_to(seconds):
    """Raise OutOfTime in the main thread after ``seconds``; no limit where signals are unavailable."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def out_of_time(signum, frame):
        raise OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _argument_names(function, count):
    import inspect
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) >= count and all(n.isidentifier() for n in names[:count]):
        return names[:count]
    return [f"arg{index + 1}" for index in range(count)]


def _arrays_in(value):
    """The arrays in a result (read through tuple's and list's own iteration: a subclass's
    ``__iter__`` does not run)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        items = tuple.__iter__(value) if isinstance(value, tuple) else list.__iter__(value)
        return [array for item in items for array in _arrays_in(item)]
    return []


def copies_of(args):
    """The arguments with every array copied, so that a call that changes them changes no one else's."""
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


# --- the verdict ----------------------------------------------------------------------------------


def judge(spec, cases, where):
    """The verdict on an exercise's test cases, part by part.

    cases: ``(args, got, expected)`` per test, ``got`` a result or a ``Failed``.
    where: ``trial -> Where`` (how to describe test ``trial`` to the learner).
    Returns ``[(label, points of this part, None or the message of its first failing test)]``:
    one entry for an exercise without parts. A part is judged on its own: any exception while
    comparing it fails that part only.
    """
    parts = spec.parts or ((spec.name, None, spec.hint),)
    share = float(spec.points) / len(parts)
    results = []
    for label, index, hint in parts:
        name = spec.name if index is None else f"{spec.function}'s {label}"
        message = None
        for trial, (args, got, expected) in enumerate(cases):
            place = where(trial)
            tail = f"\nInputs: {place.shapes()}\n{place.reproduce()}" + (f"\nHint: {hint}" if hint else "")
            if isinstance(got, Failed):
                first, _, rest = got.message.partition("\n")
                message = f"{first} ({place.title()})" + (f"\n{rest}" if rest else "") + tail
                break
            try:
                if index is not None:
                    got_item, expected_item = _item(got, index, name), expected[index]
                else:
                    got_item, expected_item = got, expected
                _compare(got_item, expected_item, name=name, rtol=spec.rtol, atol=spec.atol,
                         context=f" ({place.title()})", tail=tail)
            except Exception as failure:  # an AssertionError, or anything a strange result raises
                message = str(failure) if isinstance(failure, AssertionError) else (
                    f"{name} could not be compared ({type(failure).__name__}: {failure}) ({place.title()}){tail}")
                break
        results.append((label, share, message))
    return results


def _item(got, index, name):
    if not isinstance(got, (tuple, list)) or len(got) <= index:
        raise AssertionError(f"{name}: expected a result with at least {index + 1} values, got "
                             f"{_describe_kind(got)}.")
    return got[index]


class Where:
    """One seeded test: its place, its inputs, and how to rebuild it in a cell."""

    def __init__(self, spec, trial, trials, args, seed=None, names=None):
        self.spec, self.trial, self.trials, self.args = spec, trial, trials, args
        self.seed = spec.seed if seed is None else seed
        self.names = names or [f"arg{index + 1}" for index in range(len(args))]

    def title(self):
        if self.seed == "hidden":  # the teacher's grading inputs
            return f"grading test {self.trial + 1} of {self.trials}"
        return f"test {self.trial + 1} of {self.trials}, seed {self.seed}"

    def shapes(self):
        return ", ".join(f"{label}: {_shape_of(value)}" for label, value in zip(self.names, self.args))

    def reproduce(self):
        """Lines a learner can paste into a cell to run this case again."""
        lines = []
        for label, value in zip(self.names, self.args):
            written = _literal(value, prefix=f"    {label} = np.array(")
            if written is None:
                return ""
            lines.append(f"    {label} = {written}")
        call = f"\n    {getattr(self.spec, 'shown_call', '')}" if self.spec.call else \
            f"\n    {self.spec.function}({', '.join(self.names)})"
        return "To run this case yourself:\n" + "\n".join(lines) + call


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


def _compare(got, expected, *, name, rtol, atol, context="", tail=""):
    """Raise an AssertionError saying "expected X, got Y" unless ``got`` matches ``expected``.

    got, expected: numbers, arrays, None, or tuples of these (compared item by item).
    """
    __tracebackhide__ = True
    if isinstance(expected, tuple):  # several results, e.g. (grad_x, grad_W, grad_b)
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(f"{name} should return {len(expected)} values{context}, "
                                 f"got {_describe_kind(got)}.{tail}")
        for index, (got_item, expected_item) in enumerate(zip(got, expected)):
            _compare(got_item, expected_item, name=f"{name} (returned value {index + 1})", rtol=rtol,
                     atol=atol, context=context, tail=tail)
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
        raise AssertionError(f"{name} returned {_describe_kind(got)}{context}, expected numbers.{tail}") from None
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape:
        raise AssertionError(f"{name} returned shape {got_array.shape}{context}, expected shape "
                             f"{expected_array.shape}.{tail}")
    if not np.allclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True):
        # np.where, not an assignment: a 0-d difference (a scalar answer) cannot be assigned into
        difference = np.where(np.isnan(got_array - expected_array), np.inf, np.abs(got_array - expected_array))
        index = np.unravel_index(int(np.argmax(difference)), difference.shape) if difference.ndim else ()
        at = f" at index {tuple(int(i) for i in index)}" if index else ""
        largest = "Largest difference" if difference.ndim else "The value"
        raise AssertionError(
            f"{name} gave a different answer{context}.\n"
            f"{largest}{at}: expected {expected_array[index]:.10g}, got {got_array[index]:.10g}"
            f"{_whole(expected_array, got_array)}{tail}")


def _whole(expected, got):
    if expected.size <= 1 or expected.size > 24:
        return ""
    with np.printoptions(precision=6, suppress=True):
        return f"\nExpected {expected}\nGot      {got}"


def _describe_kind(value):
    if isinstance(value, (tuple, list)):
        return f"{len(value)} values"
    if isinstance(value, np.ndarray):
        return f"one array of shape {value.shape}"
    return f"one {type(value).__name__}"


# --- checks for the chapters' own cells ----------------------------------------------------------


class _AdHocSpec:
    """A spec for ``check_function``: an exercise not in ``introdl.exercises``."""

    def __init__(self, function, name, seed, trials, rtol, atol, time_limit, hint, new_arrays, inputs_unchanged):
        self.function, self.name, self.seed, self.trials = function, name, seed, trials
        self.rtol, self.atol, self.time_limit, self.hint = rtol, atol, time_limit, hint
        self.new_arrays, self.inputs_unchanged = new_arrays, inputs_unchanged
        self.call, self.parts, self.points = None, (), 1

    @staticmethod
    def run(function, *args):
        return function(*args)


@_reported
def check_function(student, reference, *, inputs, seed, name=None, trials=5, rtol=1e-9, atol=1e-12,
                   hint="", new_arrays=False, inputs_unchanged=False, time_limit=3.0):
    """Call ``student(*args)`` and ``reference(*args)`` on ``trials`` seeded inputs and compare.

    inputs: ``rng -> tuple of arguments``; test ``t`` gets ``np.random.default_rng([seed, t])``.
    seed: an int, required. rtol, atol: as in ``np.allclose``. time_limit: seconds for one call.
    Prints a ``✓`` line on success, raises ``AssertionError`` otherwise; returns None.
    """
    __tracebackhide__ = True
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"check_function needs seed=<an int> so that every run draws the same inputs, "
                        f"got {seed!r}")
    name = name or getattr(student, "__name__", "your function")
    spec = _AdHocSpec(getattr(student, "__name__", "f"), name, int(seed), trials, rtol, atol, time_limit, hint,
                   new_arrays, inputs_unchanged)
    (_, _, message), = _self_check(spec, reference, student,
                                   (drawn_inputs(inputs, [int(seed), trial]) for trial in range(trials)))
    if message:
        raise AssertionError(message)
    print(f"{PASS_MARK} {name} matches the reference on {trials} test inputs (seed {seed}).")
