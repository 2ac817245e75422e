"""The process in which the grader runs a student's solution cells: ``python -I -m introdl.sandbox DIR``.

``introdl.grading`` starts it, one process per exercise, in an empty folder DIR holding
``task.json`` (the exercise id, the solution cells' source, the test inputs as data) and
``inputs.npz``. It writes ``results.json`` and ``results.npz`` there: each test's result as data
(arrays, numbers, None, tuples; never pickle), or the message of what went wrong, an excerpt
of what the student's code printed, and the names of module attributes the student's code changed
(a reason for manual grading). It compares nothing: the grader does, in its own process.

Student code runs with builtins of its own: ``__import__`` refuses every module the exercise does
not allow (``introdl``, ``torch``, ``os``, ``sys``, ...), and ``open``, ``exec``, ``eval``,
``compile``, ``input`` and ``breakpoint`` are gone. What it prints goes to a capped buffer.
"""
import builtins
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

from introdl import check, exercises

PRINTED_KEPT = 500            # characters of the student's output kept for the teacher
MESSAGE_KEPT = 2000           # characters kept of a failure's message (an exception's text)
RESULT_LIMIT = 16 * 1024 ** 2 # bytes one test's result may take as data
CELL_TIME_LIMIT = 10.0        # seconds for running one solution cell (defining the functions)
REMOVED_BUILTINS = ("open", "exec", "eval", "compile", "input", "breakpoint", "help", "exit", "quit")


# --- data in and out: arrays in .npz files (allow_pickle=False), the rest in JSON ---------------


def to_data(value, arrays):
    """``value`` as JSON, its arrays (and NumPy scalars, to keep their dtype) put into ``arrays``.

    A subclass of tuple, list, dict, int, float or str (a namedtuple) is read through its base
    class, so it counts as what it is, and none of its own methods runs here.
    """
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind in "biufc":
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"array" if isinstance(value, np.ndarray) else "scalar": key}
    if value is None or isinstance(value, bool):
        return {"value": value}
    for base, plain in ((int, int.__int__), (float, float.__float__), (str, str.__str__)):
        if isinstance(value, base):
            return {"value": plain(value)}
    if isinstance(value, tuple):
        return {"tuple": [to_data(item, arrays) for item in tuple.__iter__(value)]}
    if isinstance(value, list):
        return {"list": [to_data(item, arrays) for item in list.__iter__(value)]}
    if isinstance(value, dict):
        items = list(dict.items(value))
        if all(type(key) is str for key, _ in items):
            return {"dict": {key: to_data(item, arrays) for key, item in items}}
    return {"object": type(value).__name__}


def from_data(data, arrays):
    """The inverse of ``to_data``; an object that was not data comes back as an empty instance of
    a class of the same name (so a message can say "returned one Generator")."""
    (kind, content), = data.items()
    if kind == "array":
        return arrays[content]
    if kind == "scalar":
        return arrays[content][()]
    if kind == "value":
        return content
    if kind in ("tuple", "list"):
        items = [from_data(item, arrays) for item in content]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {key: from_data(item, arrays) for key, item in content.items()}
    return type(str(content), (), {})()


def write(folder, name, value):
    """Write ``value`` as NAME.json and NAME.npz, each replacing the old file only once complete
    (a write cut short by the file size limit leaves the previous results readable)."""
    arrays = {}
    text = json.dumps(to_data(value, arrays))
    (folder / f"{name}.json.part").write_text(text)
    with open(folder / f"{name}.npz.part", "wb") as file:
        np.savez(file, **arrays)
    os.replace(folder / f"{name}.npz.part", folder / f"{name}.npz")
    os.replace(folder / f"{name}.json.part", folder / f"{name}.json")


def data_size(value, limit):
    """About how many bytes ``value`` takes as data (arrays' bytes, 8 per number, a string's length,
    16 per item of a list, tuple or dict), counted up to just past ``limit``."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, (np.ndarray, np.generic)):
            size += item.nbytes
        elif isinstance(item, (str, bytes)):
            size += len(item)
        elif isinstance(item, (list, tuple)):
            items = list(tuple.__iter__(item) if isinstance(item, tuple) else list.__iter__(item))
            size += 16 * len(items)
            stack.extend(items[:limit // 16 + 1])
        elif isinstance(item, dict):
            items = list(dict.items(item))
            size += 16 * len(items)
            stack.extend(items[:limit // 16 + 1])
        else:
            size += 8
    return size


def read(folder, name):
    with np.load(folder / f"{name}.npz", allow_pickle=False) as arrays:
        return from_data(json.loads((folder / f"{name}.json").read_text()), dict(arrays))


# --- what student code sees ----------------------------------------------------------------------


class CappedOutput:
    """A stand-in for sys.stdout/sys.stderr that keeps the first PRINTED_KEPT characters and
    counts the rest."""

    def __init__(self):
        self.kept, self.count = [], 0

    def write(self, text):
        text = str(text)
        room = PRINTED_KEPT - sum(map(len, self.kept))
        if room > 0:
            self.kept.append(text[:room])
        self.count += len(text)
        return len(text)

    def flush(self):
        pass

    def excerpt(self):
        return "".join(self.kept), self.count


# Submodules of allowed modules that are refused all the same: NumPy's test tools, compilers and
# file readers, logging's configuration by dotted names (which imports anything) and its handlers.
REFUSED_SUBMODULES = {"testing", "f2py", "distutils", "ctypeslib", "npyio", "config", "handlers"}


def permitted(name, allowed):
    """Whether student code may import the module called ``name`` (dotted). Private submodules
    are allowed here, since NumPy's compiled code imports its own (``numpy._core._methods``)
    through the builtins of the calling code; a solution that names one is flagged by the scan."""
    parts = name.split(".")
    return parts[0] in allowed and not any(part in REFUSED_SUBMODULES for part in parts)


def student_builtins(allowed):
    """Builtins for student code: imports limited to ``allowed`` top-level modules (less their
    private and refused submodules), and ``from M import X`` to public names that are not modules
    outside them (``from logging import sys`` is refused)."""
    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or not permitted(name, allowed):
            raise ImportError(f"`import {name}` is not available when exercises are graded "
                              f"(allowed: {', '.join(allowed)})")
        module = builtins.__import__(name, globals, locals, fromlist, level)
        for item in fromlist or ():
            value = getattr(module, item, None)
            # ("__doc__": what imports made by compiled code ask for)
            if item not in ("*", "__doc__") and (item.startswith("_") or (isinstance(value, type(builtins))
                                                          and not permitted(value.__name__, allowed))):
                raise ImportError(f"`from {name} import {item}` is not available when exercises are graded")
        return module

    namespace = {key: value for key, value in vars(builtins).items() if key not in REMOVED_BUILTINS}
    namespace["__import__"] = guarded_import
    # IPython's display, which a notebook gives every cell: here it prints, as in a terminal
    namespace["display"] = lambda *objects, **options: print(*objects)
    return namespace


def run_solutions(spec, sources):
    """Run the solution cells in a fresh namespace; (namespace, messages of the cells that failed)."""
    namespace = {"__name__": "__main__", "__builtins__": student_builtins(spec.allowed)}
    namespace.update(exercises.chapter_names(spec.names))
    problems = []
    for number, source in enumerate(sources, start=1):
        try:
            code = compile(source, f"<solution cell {number}>", "exec")
            with check.limited_to(CELL_TIME_LIMIT):
                exec(code, namespace)
        except check.OutOfTime:
            problems.append(f"solution cell {number} did not finish within {CELL_TIME_LIMIT:g} s")
        except BaseException as err:  # SystemExit too: a cell that stops costs that cell alone
            problems.append(f"solution cell {number} raised {type(err).__name__}: {err}")
    return namespace, problems


def module_snapshot():
    """Every loaded module's bindings, to tell later whether student code changed one (say
    ``m = np; m.errstate = ...``, which the static scan does not see through the alias)."""
    return {name: (module, dict(vars(module))) for name, module in list(sys.modules.items())
            if module is not None and hasattr(module, "__dict__")}


def changed_modules(snapshot):
    """``["numpy.errstate", ...]``: the bindings in ``snapshot`` that are now different or gone."""
    changed = []
    for name, (module, before) in snapshot.items():
        if sys.modules.get(name) is not module:
            changed.append(name)
            continue
        now = vars(module)
        changed += [f"{name}.{key}" for key, value in before.items()
                    if key != "__warningregistry__" and now.get(key, _GONE) is not value]
    return changed


_GONE = object()


def main(folder):
    folder = Path(folder)
    task = json.loads((folder / "task.json").read_text())
    spec = exercises.get(task["exercise"])
    tests = read(folder, "inputs")
    printed = CappedOutput()
    sys.stdout = sys.stderr = printed
    # a file written past the size limit raises OSError here instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    snapshot = module_snapshot()
    namespace, problems = run_solutions(spec, task["sources"])
    problems = [_cut(problem) for problem in problems]
    changed = changed_modules(snapshot)
    function = namespace.get(spec.function)
    outcomes = []
    for args in tests:
        if not callable(function):
            why = "; ".join(problems) or "no solution cell defines it"
            outcome = check.Failed(f"{spec.function} is not defined ({why}).")
        else:
            outcome = check.run_case(spec, function, tuple(args))
        if not isinstance(outcome, check.Failed):
            if data_size(outcome, RESULT_LIMIT) > RESULT_LIMIT:
                outcome = check.Failed(f"{spec.name} returned more than the {RESULT_LIMIT // 1024 ** 2} MB "
                                       f"of data that a result may take.")
        outcomes.append({"failed": _cut(outcome.message)} if isinstance(outcome, check.Failed)
                        else {"result": outcome})
        changed = changed or changed_modules(snapshot)
        text, count = printed.excerpt()
        write(folder, "results", {"outcomes": outcomes, "printed": text, "printed_count": count,
                                  "problems": problems, "changed": changed[:10]})


def _cut(message):
    """At most MESSAGE_KEPT characters of a message (an exception's text may be megabytes)."""
    message = str(message)
    if len(message) <= MESSAGE_KEPT:
        return message
    return f"{message[:MESSAGE_KEPT]} ... ({len(message) - MESSAGE_KEPT} more characters)"


if __name__ == "__main__":
    main(sys.argv[1])
    # Every result is written: leave without the interpreter's shutdown, which would run the
    # finalizers (``__del__``) of the student's objects, and one that never returns would hold the
    # grader until its wall clock.
    os._exit(0)
