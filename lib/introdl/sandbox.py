"""The process in which the grader runs a student's solution cells: ``python -I -m introdl.sandbox DIR``.

``introdl.grading`` starts it, one process per exercise, in an empty folder DIR holding
``task.json`` (the exercise id, the solution cells' source, the test inputs as data) and
``inputs.npz``. It writes ``results.json`` and ``results.npz`` there: each test's result as data
(arrays, numbers, None, tuples; never pickle), or the message of what went wrong, and an excerpt
of what the student's code printed. It compares nothing: the grader does, in its own process.

Student code runs with builtins of its own: ``__import__`` refuses every module the exercise does
not allow (``introdl``, ``torch``, ``os``, ``sys``, ...), and ``open``, ``exec``, ``eval``,
``compile``, ``input`` and ``breakpoint`` are gone. What it prints goes to a capped buffer.
"""
import builtins
import json
import sys
from pathlib import Path

import numpy as np

from introdl import check, exercises

PRINTED_KEPT = 500            # characters of the student's output kept for the teacher
CELL_TIME_LIMIT = 10.0        # seconds for running one solution cell (defining the functions)
REMOVED_BUILTINS = ("open", "exec", "eval", "compile", "input", "breakpoint", "help", "exit", "quit")


# --- data in and out: arrays in .npz files (allow_pickle=False), the rest in JSON ---------------


def to_data(value, arrays):
    """``value`` as JSON, its arrays (and NumPy scalars, to keep their dtype) put into ``arrays``."""
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind in "biufc":
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"array" if isinstance(value, np.ndarray) else "scalar": key}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, (tuple, list)):
        return {type(value).__name__: [to_data(item, arrays) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": {key: to_data(item, arrays) for key, item in value.items()}}
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
    arrays = {}
    (folder / f"{name}.json").write_text(json.dumps(to_data(value, arrays)))
    np.savez(folder / f"{name}.npz", **arrays)


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


def student_builtins(allowed):
    """Builtins for student code: imports limited to ``allowed`` top-level modules."""
    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.partition(".")[0] not in allowed:
            raise ImportError(f"`import {name}` is not available when exercises are graded "
                              f"(allowed: {', '.join(allowed)})")
        return builtins.__import__(name, globals, locals, fromlist, level)

    namespace = {key: value for key, value in vars(builtins).items() if key not in REMOVED_BUILTINS}
    namespace["__import__"] = guarded_import
    return namespace


def run_solutions(spec, sources):
    """Run the solution cells in a fresh namespace; (namespace, messages of the cells that failed)."""
    namespace = {"__name__": "__main__", "__builtins__": student_builtins(spec.allowed)}
    namespace.update(exercises.chapter_names(spec.names))
    problems = []
    for number, source in enumerate(sources, start=1):
        try:
            code = compile(source, f"<solution cell {number}>", "exec")
            with check._time_limit(CELL_TIME_LIMIT):
                exec(code, namespace)
        except check._OutOfTime:
            problems.append(f"solution cell {number} did not finish within {CELL_TIME_LIMIT:g} s")
        except BaseException as err:  # SystemExit too: a cell that stops costs that cell alone
            problems.append(f"solution cell {number} raised {type(err).__name__}: {err}")
    return namespace, problems


def main(folder):
    folder = Path(folder)
    task = json.loads((folder / "task.json").read_text())
    spec = exercises.get(task["exercise"])
    tests = read(folder, "inputs")
    printed = CappedOutput()
    sys.stdout = sys.stderr = printed
    namespace, problems = run_solutions(spec, task["sources"])
    function = namespace.get(spec.function)
    outcomes = []
    for args in tests:
        if not callable(function):
            why = "; ".join(problems) or "no solution cell defines it"
            outcome = check.Failed(f"{spec.function} is not defined ({why}).")
        else:
            outcome = check.run_case(spec, function, tuple(args))
        outcomes.append({"failed": outcome.message} if isinstance(outcome, check.Failed) else {"result": outcome})
        text, count = printed.excerpt()
        write(folder, "results", {"outcomes": outcomes, "printed": text, "printed_count": count,
                                  "problems": problems})


if __name__ == "__main__":
    main(sys.argv[1])
