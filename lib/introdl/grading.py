"""Grading outside the student's kernel: nbgrader preprocessors that decide every mark in a
process where no student code has run.

``nbgrader autograde`` normally executes the whole submitted notebook in a kernel and reads each
graded cell's output; anything earlier in that kernel (a patched checker, an IPython hook) can
change that output. The course directory written by ``scripts/make_editions.py`` replaces that
step (``Execute``) with ``GradeOutsideKernel``; for each graded cell it

1. takes the exercise's spec from ``introdl.exercises`` (grade id minus ``-test``);
2. draws the test inputs from the course's hidden seed (``grading_seed`` in the course folder,
   random per course, in no student notebook) and computes the reference results here;
3. runs the student's solution cells (nbgrader solution cells only) and the tests in a fresh
   ``python -I -m introdl.sandbox`` process: an empty temporary folder as cwd and HOME, its own
   process group and, where ``unshare`` allows, its own PID namespace (so a process it leaves
   behind dies with it), limits on memory, CPU time and file size, a wall clock; student code
   may import only what the exercise allows (``introdl.exercises.ALLOWED_MODULES``). The inputs
   go in and the results come out as data (``.npz`` without pickle, JSON);
4. compares here (``introdl.check.judge``) and writes the verdict into the cell's outputs in the
   form nbgrader's ``determine_grade`` scores: full marks a plain output, none an error, partial
   credit an ``execute_result`` holding the points.

A static scan (``scan``) of the solution cells flags for manual grading any use of ``exec``,
``eval``, ``open``, ``getattr``, dunder or private attributes, ``inspect``, ``os``, ``sys``,
file reading and writing, ``get_ipython``, or an assignment to an attribute of a module: the
reason is printed in each graded cell, and ``FlagForManualGrading`` (after nbgrader's
``SaveAutoGrades``) marks those grades as needing manual grading in the gradebook. The sandbox
also reports any module attribute that the code changed while it ran (through an alias the scan
cannot follow); that exercise is flagged the same way.

What this does not defend against: the sandbox runs as the teacher's user, so code that gets out
of it (through a hole in NumPy, or a way around the scan) can do what the teacher can. For a
large class, grade in a container or a throw-away account.
"""
import ast
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from nbformat.v4 import new_output
from traitlets import Unicode

from introdl import exercises, sandbox
from introdl.check import PASS_MARK, Failed, Where, copies_of, drawn_inputs, judge, parts_right, points_earned

MEMORY_LIMIT = 2 * 1024 ** 3   # bytes of address space for one sandbox
FILE_LIMIT = 64 * 1024 ** 2    # bytes any file the sandbox writes may reach
STARTUP_SECONDS = 20           # the wall clock's allowance beyond the per-call time limits
CALLS_PER_TEST = 10            # the wall clock allows each test this many calls at the time limit

# Builtins whose use in a solution cell sends the notebook to manual grading (as names: a method
# called `eval`, like a model's, is fine), and names flagged as names or as attributes.
FLAGGED_BUILTINS = {"exec", "eval", "compile", "open", "__import__", "getattr", "setattr", "delattr",
                    "globals", "locals", "vars", "breakpoint", "input"}
FLAGGED_NAMES = {
    "inspect", "importlib", "ctypes", "ctypeslib", "subprocess", "os", "sys", "modules", "builtins",
    "get_ipython", "signal", "threading", "multiprocessing", "socket", "fromfile", "tofile", "load",
    "loads", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromregex",
    "memmap", "open_memmap", "npyio", "DataSource", "dump", "dumps", "f2py", "testing", "distutils",
    # attribute access by a name held in a string (operator's getattr); code that the standard
    # library evaluates or writes from strings a caller gives (typing's annotations, with a globals
    # dict of the caller's choosing; dataclasses' generated methods, from the field names)
    "attrgetter", "methodcaller", "get_type_hints", "ForwardRef", "dataclasses", "dataclass",
    "make_dataclass",
    # logging's file writers
    "FileHandler",
}
# Flagged as attributes (and as parts of an imported name) only: as a variable's name they are
# harmless, and likely (``numbers``, ``queue``, ``config``).
FLAGGED_ATTRIBUTE_NAMES = {
    # the frames of running code, whose globals are the grader's (``gen.gi_frame.f_back.f_globals``)
    "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "ag_code", "f_back", "f_globals",
    "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "co_consts",
    # logging's configuration by dotted names (which imports anything) and its handlers
    "config", "handlers",
    # modules outside ALLOWED_MODULES that an allowed module holds as a public attribute
    # (``logging.io``, ``logging.re.enum.bltns``): tests/test_grading.py finds them all
    "io", "re", "enum", "bltns", "types", "traceback", "linecache", "tokenize", "pickle", "atexit",
    "weakref", "platform", "codecs", "copyreg", "ast", "contextlib", "abc", "errno", "keyword",
    "numbers", "queue", "struct", "textwrap", "stdlib_re",
}
# Builtins that are flagged as attributes too (``some_module.exec(...)``); ``eval`` only when it is
# given something to evaluate (a model's ``.eval()`` takes nothing).
FLAGGED_ATTRIBUTES = FLAGGED_BUILTINS - {"eval", "input"} | FLAGGED_NAMES | FLAGGED_ATTRIBUTE_NAMES


def _flagged_string(text):
    """A string constant that names what a solution may not reach: a dunder name anywhere in it
    (``"__globals__"``, ``"{0.__class__}"``), the library or torch, or a dotted name with a flagged
    part (``"sys.modules"``). A single word (``"testing"``, ``"load"``) is not flagged: reaching an
    attribute by its name needs ``getattr`` or ``attrgetter``, which are."""
    if "__" in text:
        return True
    parts = text.split(".")
    if not all(part.isidentifier() for part in parts):
        return False
    return parts[0] in ("introdl", "torch") or len(parts) > 1 and any(
        part in FLAGGED_ATTRIBUTES | FLAGGED_BUILTINS for part in parts)


def _flagged_attribute(name):
    return name in FLAGGED_ATTRIBUTES or name.startswith("_")


def _flagged_module(name):
    """The first part of a dotted module name that a solution may not import, or None."""
    for part in name.split("."):
        if part in FLAGGED_ATTRIBUTES | {"introdl", "torch"} or part.startswith("_"):
            return part
    return None


def scan(sources):
    """Reasons to grade these solution cells by hand: ``["cell 2, line 3: uses exec", ...]``."""
    reasons = []
    for number, source in enumerate(sources, start=1):
        try:
            tree = ast.parse(source)
        except SyntaxError:  # it will fail to run; nothing to flag
            continue
        modules = {alias.asname or alias.name.partition(".")[0] for node in ast.walk(tree)
                   if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names} | {"np", "F", "train"}
        for node in ast.walk(tree):
            found = None
            if isinstance(node, ast.Name) and (node.id in FLAGGED_NAMES | FLAGGED_BUILTINS or node.id.startswith("__")):
                found = f"uses `{node.id}`"
            elif isinstance(node, ast.Attribute) and _flagged_attribute(node.attr):
                found = f"uses `.{node.attr}`"
            elif isinstance(node, ast.MatchClass) and any(_flagged_attribute(name) for name in node.kwd_attrs):
                # ``case object(__globals__=g)`` reads an attribute as a keyword of a class pattern
                found = f"matches the attribute `{next(filter(_flagged_attribute, node.kwd_attrs))}`"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "eval" \
                    and (node.args or node.keywords):
                found = "uses `.eval(...)` on a value"
            elif isinstance(node, ast.Call) and any(k.arg in ("filename", "filemode") for k in node.keywords):
                found = "passes a `filename`"
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _flagged_string(node.value):
                found = f"uses the string {node.value[:40]!r}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                # every part of a dotted name (``numpy.testing``) and every name taken from a module
                # (``from numpy import __builtins__``, ``from logging import sys``)
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if isinstance(node, ast.ImportFrom):
                    names += [alias.name for alias in node.names if alias.name != "*"]
                bad = [name for name in names if _flagged_module(name) or name in FLAGGED_BUILTINS]
                found = f"imports `{bad[0]}`" if bad else None
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id in modules:
                        found = f"changes `{target.value.id}.{target.attr}`"
            if found:
                reasons.append(f"solution cell {number}, line {node.lineno}: {found}")
    return reasons


def plain_python(source):
    """A solution cell as plain Python: where it does not parse because of IPython's syntax (a
    ``%%time`` first line, a ``%timeit ...`` or ``!pip ...`` line), those lines become ``pass``,
    so a cell that ran in Jupyter defines its functions in the grader too. A cell that parses is
    left as it is (``%`` and ``!`` may begin a continued line there)."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    lines = source.split("\n")
    if lines[0].lstrip().startswith("%%"):  # a cell magic: the rest of the cell is Python
        lines[0] = "pass"
    plain = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in lines)
    try:
        ast.parse(plain)
    except SyntaxError:
        return source  # not IPython's syntax: it fails as it would anyway
    return plain


# --- one exercise in the sandbox -----------------------------------------------------------------


def hidden_inputs(spec, hidden_seed, trial):
    """The inputs of grading test ``trial``: drawn from the course's seed, not the public one."""
    return drawn_inputs(spec.inputs, [int(hidden_seed), spec.seed, trial])


def _sandbox_prefix():
    """``unshare`` arguments that give the sandbox its own PID namespace, or [] where the system
    does not allow it (then the process group alone is killed)."""
    unshare = shutil.which("unshare")
    for prefix in ([unshare, "--pid", "--fork", "--kill-child"],
                   [unshare, "--user", "--map-root-user", "--pid", "--fork", "--kill-child"]):
        if unshare and subprocess.run(prefix + ["true"], capture_output=True).returncode == 0:
            return prefix
    return []


_PREFIX = None


def _limits(cpu_seconds):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_in_sandbox(spec, sources, tests):
    """Run the solution cells and each test in a sandbox process.

    Returns (outcomes, report): one result or ``Failed`` per test, and a dict with the printed
    excerpt (``printed``, ``printed_count``), the solution cells' failures (``problems``) and how
    the process ended (``ended``, None when it exited normally).
    """
    global _PREFIX
    if _PREFIX is None:
        _PREFIX = _sandbox_prefix()
    seconds = spec.time_limit * CALLS_PER_TEST * len(tests) + STARTUP_SECONDS  # a generous backstop
    with tempfile.TemporaryDirectory(prefix="introdl-grading-") as folder:
        folder = Path(folder)
        (folder / "task.json").write_text(json.dumps({"exercise": spec.id, "sources": sources}))
        sandbox.write(folder, "inputs", [list(args) for args in tests])
        environment = {"HOME": str(folder), "PATH": os.defpath, "LANG": "C.UTF-8",
                       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        process = subprocess.Popen(_PREFIX + [sys.executable, "-I", "-m", "introdl.sandbox", str(folder)],
                                   cwd=folder, env=environment, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=_limits(int(seconds) + 1))
        try:
            process.wait(timeout=seconds)
            ended = None if process.returncode == 0 else _ending(process.returncode)
        except subprocess.TimeoutExpired:
            ended = f"did not finish within {seconds:g} s"
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        try:
            report = sandbox.read(folder, "results")
        except Exception:  # noqa: BLE001 (missing, cut short or not data: every test then failed)
            report = {"outcomes": [], "printed": "", "printed_count": 0, "problems": [], "changed": []}
    outcomes = [Failed(item["failed"]) if "failed" in item else item["result"] for item in report["outcomes"]]
    stopped = (f"The grading process running your code stopped ({ended or 'it exited'}) during this test: "
               f"it exited, crashed or was killed. Tests after it did not run.")
    while len(outcomes) < len(tests):
        outcomes.append(Failed(stopped))
    report["ended"] = ended
    return outcomes, report


def _ending(returncode):
    if returncode < 0 or returncode > 128:
        number = -returncode if returncode < 0 else returncode - 128
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:
            return f"signal {number}"
    return f"exit code {returncode}"


def grade_exercise(spec, sources, hidden_seed, reasons=None):
    """(points earned, the text of the verdict, whether it passed completely).

    reasons: a list to which reasons for manual grading seen while the code ran are appended (the
    module attributes it changed: ``m = np; m.errstate = ...`` escapes the static scan's eye).
    """
    tests = [hidden_inputs(spec, hidden_seed, trial) for trial in range(spec.trials)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [spec.reference(*copies_of(args)) for args in tests]
    outcomes, report = run_in_sandbox(spec, sources, tests)
    if reasons is not None and report.get("changed"):
        reasons.append(f"while it ran, the code changed {', '.join(f'`{name}`' for name in report['changed'])}")
    cases = list(zip(tests, outcomes, expected))
    results = judge(spec, cases, where=lambda trial: Where(spec, trial, spec.trials, tests[trial], seed="hidden",
                                                                   names=spec.arguments or None))
    earned = points_earned(spec, results)
    lines = [message for _, _, message in results if message]
    if not lines:
        lines = [f"{PASS_MARK} {spec.name} matches the reference on {spec.trials} grading tests."]
    elif len(results) > 1:
        lines.append(parts_right(spec, results))
    text, count = report["printed"], report["printed_count"]
    if count:
        more = f" (the first {len(text)} of {count} characters)" if count > len(text) else ""
        lines.append(f"Your code printed{more}:\n{text}")
    return earned, "\n\n".join(lines), not any(message for _, _, message in results)


# --- the nbgrader preprocessors ------------------------------------------------------------------


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


class GradeOutsideKernel(NbGraderPreprocessor):
    """Replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``: writes each graded
    cell's verdict into its outputs, decided as the module docstring says."""

    seed_file = Unicode("", help="the file holding the course's hidden grading seed").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.seed_file or not Path(self.seed_file).exists():
            raise RuntimeError(f"GradeOutsideKernel.seed_file must name the course's grading_seed file "
                               f"(got {self.seed_file!r}); run scripts/make_editions.py again")
        hidden_seed = int(Path(self.seed_file).read_text().split()[0])
        sources = [plain_python(cell.source) for cell in nb.cells
                   if cell.cell_type == "code" and _nbgrader(cell).get("solution")]
        reasons = scan(sources)
        flagged = resources.setdefault("introdl_manual", [])
        for cell in nb.cells:
            meta = _nbgrader(cell)
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            cell.outputs, manual = self.verdict(meta, sources, hidden_seed, reasons)
            if manual:
                flagged.append(meta["grade_id"])
        return nb, resources

    def verdict(self, meta, sources, hidden_seed, reasons):
        """(the graded cell's outputs, whether its grade needs manual grading)."""
        exercise_id = meta["grade_id"].removesuffix("-test")
        if exercise_id not in exercises.EXERCISES:
            return [_error(f"no exercise {exercise_id!r} in introdl.exercises: this cell cannot be graded")], bool(reasons)
        spec = exercises.EXERCISES[exercise_id]
        seen = []  # what the code did while it ran: flags this exercise
        earned, text, passed = grade_exercise(spec, sources, hidden_seed, seen)
        reasons = reasons + seen
        outputs = []
        if reasons:
            outputs.append(new_output("stream", name="stdout", text=(
                "NEEDS MANUAL GRADING: the solution cells use what graded work may not use:\n  "
                + "\n  ".join(reasons[:10]) + f"\nThe automatic verdict, for reference ({earned:g} of "
                f"{spec.points:g} points):\n")))
        if passed:
            return outputs + [new_output("stream", name="stdout", text=text + "\n")], bool(reasons)
        if earned > 0:
            return outputs + [new_output("stream", name="stdout", text=text + "\n"),
                              new_output("execute_result", data={"text/plain": f"{earned:g}"},
                                         execution_count=1)], bool(reasons)
        return outputs + [_error(text)], bool(reasons)


def _error(text):
    return new_output("error", ename="AssertionError", evalue=text, traceback=["AssertionError: " + text])


class FlagForManualGrading(NbGraderPreprocessor):
    """After nbgrader's ``SaveAutoGrades``: the grades of cells that ``GradeOutsideKernel`` flagged
    get no automatic score and need manual grading (the formgrader lists them)."""

    def preprocess(self, nb, resources):
        flagged = resources.get("introdl_manual", [])
        if not flagged:
            return nb, resources
        from nbgrader.api import Gradebook
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            for grade_id in flagged:
                grade = gradebook.find_grade(grade_id, info["notebook"], info["assignment"], info["student"])
                grade.auto_score = None
                grade.needs_manual_grade = True
            gradebook.db.commit()
        return nb, resources
