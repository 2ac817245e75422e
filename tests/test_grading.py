"""Grading outside the student's kernel: a simulated class graded through the real nbgrader.

The course directory comes from scripts/make_editions.py (chapters 02, 04, 07 and 11); the class
is graded with the course's own `python grade.py chNN ...`, as the README tells a teacher. Each
student is a kind of submission: honest ones must get every point they earned, cheating ones no
marks (or a grade that needs manual grading, with the reason shown). Unit tests of the pieces
(the scan, the sandbox, the verdict) come first; they need no nbgrader.
"""
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from introdl import exercises
from introdl.check import Failed, Where, judge, run_case
from introdl.exercises import Exercise
from introdl.grading import grade_exercise, scan

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_editions.py"
CHAPTERS = {"ch02": "02_activation_functions", "ch04": "04_loss_functions", "ch07": "07_learning_rate",
            "ch11": "11_regularization"}
MAX_NOTEBOOK_BYTES = 2 * 1024 ** 2


# --- the pieces ---------------------------------------------------------------------------------


def test_scan_flags_the_routes_around_the_sandbox():
    sources = {
        "exec(src, ns)": "uses `exec`",
        "import inspect": "imports `inspect`",
        "x = getattr(np, 'lo' + 'ad')": "uses `getattr`",
        "f = mse.__globals__": "uses `.__globals__`",
        "get_ipython().events.register('post_run_cell', f)": "uses `get_ipython`",
        "import introdl.check\nintrodl.check._compare = None": "imports `introdl.check`",
        "np.allclose = lambda *a, **k: True": "changes `np.allclose`",
        "data = np.load('../../gradebook.db')": "uses `.load`",
        "np.zeros(3).tofile('/tmp/x')": "uses `.tofile`",
        "import subprocess": "imports `subprocess`",
    }
    for source, reason in sources.items():
        found = scan([source])
        assert found and reason in found[0], f"{source!r}: {found}"
    honest = "def mse(p, t):\n    d = p - t\n    return float(np.mean(d * d))\n\ndef predict(model, x):\n    model.eval()\n    return model(x)\n"
    assert scan([honest]) == []


def test_scan_flags_routes_that_no_earlier_list_named():
    """Imports of names from a module, dotted submodules, attribute access by a string, and the
    builtins an allowed module holds."""
    sources = {
        "from numpy import __builtins__ as b\nG = b['__import__']('introdl.functional')": "imports `__builtins__`",
        "from logging import sys as s": "imports `sys`",
        "import logging.config\nG = logging.config.BaseConfigurator({}).resolve('m')": "imports `logging.config`",
        "import numpy.testing as t": "imports `numpy.testing`",
        "import numpy._core._internal as i": "imports `numpy._core._internal`",
        "import operator\nm = operator.attrgetter('modules')": "uses `.attrgetter`",
        "from operator import attrgetter as a\nf = a('x')": "imports `attrgetter`",
        "import logging\nlogging.re.enum.bltns.exec('import introdl', {})": "uses `.exec`",
        "text = '{0.__class__}'.format(np)": "uses the string '{0.__class__}'",
        "import logging\nlogging.basicConfig(filename='../../gradebook.db')": "passes a `filename`",
        "import logging\nlogging.io.open('x', 'w')": "uses `.io`",
        # the frames of the grader's own code, reached from a running generator
        "def walk():\n    yield gen.gi_frame.f_back.f_globals\ngen = walk()": "uses `.gi_frame`",
        # an attribute read as a keyword of a class pattern
        "match np.add:\n    case object(__globals__=g):\n        pass": "matches the attribute `__globals__`",
        # typing evaluates a string annotation in a globals dict the caller gives (real builtins there)
        "import typing\ndef f(x: ann):\n    pass\ntyping.get_type_hints(f, globalns=d)": "uses `.get_type_hints`",
        # dataclasses writes code from field names (here an annotation named by a string built at run time)
        "import dataclasses\nX = dataclasses.dataclass(type('X', (), {u + 'annotations' + u: {name: int}}))":
            "imports `dataclasses`",
    }
    for source, reason in sources.items():
        found = scan([source])
        assert any(reason in line for line in found), f"{source!r}: {found}"
    honest = ('import math\nfrom numpy import exp\nfrom numpy.random import default_rng\nimport numpy.linalg as la\n'
              'def helper(z):\n    """The sigmoid, in two forms, as torch.sigmoid: see the text."""\n    return 1 / (1 + exp(-z))\n\n'
              "def predict(model, x):\n    model.eval()\n    print(f'{math.pi:.3f} {x.shape}', 'testing', 'load')\n"
              "    numbers, queue, config, types = [1, 2], [], {'re': 1}, None\n    return model(x)\n")
    assert scan([honest]) == []


def test_every_module_an_allowed_module_holds_is_flagged():
    """A public attribute chain from a module students may import (``logging.io``,
    ``logging.re.enum.bltns``) that reaches a module they may not import is flagged by the scan."""
    import importlib
    import types
    import warnings

    from introdl.grading import FLAGGED_ATTRIBUTES
    from introdl.sandbox import permitted
    allowed = exercises.ALLOWED_MODULES
    queue = [importlib.import_module(name) for name in allowed]
    seen, reached = set(), {}
    while queue:
        module = queue.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        for attribute in dir(module):
            if attribute.startswith("_") or attribute in FLAGGED_ATTRIBUTES:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = getattr(module, attribute, None)
            if isinstance(value, types.ModuleType):
                if permitted(value.__name__, allowed):
                    queue.append(value)
                else:
                    reached[f"{module.__name__}.{attribute}"] = value.__name__
    assert not reached, f"reachable without a flagged name: {reached}"


def _spec(**changes):
    base = dict(id="t-square", function="square", seed=1, points=2, inputs=lambda rng: (rng.normal(size=3),),
                reference=lambda x: x * x)
    return Exercise(**{**base, **changes})


def test_a_wrong_scalar_says_expected_and_got():
    spec = _spec(inputs=lambda rng: (float(rng.normal()),), reference=lambda x: x * x)
    args = (2.0,)
    (_, _, message), = judge(spec, [(args, 5.0, 4.0)], where=lambda t: Where(spec, t, 1, args))
    assert "expected 4, got 5" in message


def test_an_exception_in_one_part_costs_that_part_only():
    spec = _spec(parts=(("first", 0, ""), ("second", 1, "")), reference=lambda x: (x, x))
    args = (np.ones(3),)
    results = judge(spec, [(args, (np.ones(3), "not a number"), (np.ones(3), np.ones(3)))],
                    where=lambda t: Where(spec, t, 1, args))
    assert results[0][2] is None and "expected numbers" in results[1][2]


def test_the_time_limit_is_on_one_call_of_the_function():
    """A test that calls a 0.05 s function 20 times (1 s in all) passes a 0.3 s limit per call."""
    def many_calls(function, x):
        for _ in range(20):
            y = function(x)
        return y

    def slow_square(x):
        time.sleep(0.05)
        return x * x

    spec = _spec(call=many_calls, time_limit=0.3)
    assert isinstance(run_case(spec, slow_square, (np.ones(3),)), np.ndarray)

    def endless(x):
        while True:
            pass
    outcome = run_case(spec, endless, (np.ones(3),))
    assert isinstance(outcome, Failed) and "did not return within 0.3 s" in outcome.message


def _source(code):
    return "import numpy as np\n" + code


def test_the_sandbox_refuses_the_library_and_torch_and_open():
    spec = exercises.get("ch02-tanh-derivative")
    for route in ("from introdl.functional import tanh_derivative as t\n    return t(z)",
                  "import torch\n    return 1 - torch.tanh(torch.from_numpy(z)).numpy() ** 2",
                  "open('x', 'w')\n    return 1 - np.tanh(z) ** 2"):
        earned, text, _ = grade_exercise(spec, [_source(f"def tanh_derivative(z):\n    {route}\n")], 7)
        assert earned == 0 and ("not available when exercises are graded" in text or "NameError" in text), text


def test_the_sandbox_refuses_imports_around_its_guard_and_allows_honest_ones():
    spec = exercises.get("ch02-tanh-derivative")
    routes = {
        "from numpy import __builtins__ as b\nG = b['__import__']('introdl.functional', fromlist=['x'])\n": 0,
        "import logging.config\nG = logging.config.BaseConfigurator({}).resolve('introdl.functional')\n": 0,
        "from logging import sys as s\nG = s.modules['introdl.exercises']\n": 0,
        "import math\nfrom numpy import exp\nfrom numpy.random import default_rng\nimport numpy.linalg as la\n"
        "G = None\n": 1,
    }
    body = "def tanh_derivative(z):\n    return (1 - tanh(z) ** 2) if G is None else G.tanh_derivative(z)\n"
    for route, fair in routes.items():
        earned, text, _ = grade_exercise(spec, [_source("from numpy import tanh\n" + route + body)], 7)
        assert earned == fair, f"{route!r}: {earned}\n{text}"


def test_a_huge_result_or_message_costs_that_exercise_only_and_stays_short():
    spec = exercises.get("ch01-perceptron-output")
    for body, says in (("return np.zeros(30_000_000)", "more than the 16 MB"),
                       ("return [0.5] * 5_000_000", "more than the 16 MB"),
                       ("raise ValueError('x' * 10_000_000)", "more characters")):
        source = _source(f"def perceptron_output(x, w, w0):\n    {body}\n")
        earned, text, _ = grade_exercise(spec, [source], 7)
        assert earned == 0 and says in text and len(text) < 20_000, (body, len(text), text[:300])


def _course_script(course):
    """scripts/grade.py as the course directory ``course`` runs it (with one notebook for ch01)."""
    import importlib.util
    module_spec = importlib.util.spec_from_file_location("course_grade", REPO / "scripts" / "grade.py")
    grade = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(grade)
    grade.COURSE = course
    (course / "release" / "ch01").mkdir(parents=True)
    (course / "release" / "ch01" / "01_perceptron.ipynb").write_text("{}")
    return grade


def test_a_notebook_that_cannot_be_read_is_named_with_where_it_breaks(tmp_path):
    grade = _course_script(tmp_path)
    good = nbformat.v4.new_notebook()
    for student, text in {"cut-short": nbformat.writes(good)[:40], "fine": nbformat.writes(good)}.items():
        folder = tmp_path / "submitted" / student / "ch01"
        folder.mkdir(parents=True)
        (folder / "01_perceptron.ipynb").write_text(text)
    found = grade.unreadable_notebooks("ch01")
    assert list(found) == ["cut-short"]
    assert found["cut-short"].startswith("NOT GRADED: cut-short:") and "line " in found["cut-short"]


def test_a_notebook_beside_the_expected_one_is_named_and_the_expected_one_graded(tmp_path):
    grade = _course_script(tmp_path)
    for student, names in {"two": ["01_perceptron.ipynb", "01_perceptron (1).ipynb"],
                           "none": ["a.ipynb", "b.ipynb"], "renamed": ["01_perceptron (2).ipynb"]}.items():
        folder = tmp_path / "submitted" / student / "ch01"
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text("{}")
    messages = grade.normalise_names("ch01")
    two = next(m for m in messages if m.startswith("two:"))
    assert "graded 01_perceptron.ipynb" in two and "01_perceptron (1).ipynb" in two and "NOT GRADED" not in two
    assert any(m.startswith("NOT GRADED: none:") for m in messages)
    assert (tmp_path / "submitted" / "renamed" / "ch01" / "01_perceptron.ipynb").exists()


def test_a_module_changed_through_an_alias_is_seen_while_the_code_runs():
    """``m = np; m.shares_memory = ...`` passes the scan (m is not known to be NumPy) and would
    let a buffer that is the gradient itself pass as a new array; the sandbox reports the change."""
    spec = exercises.get("ch08-momentum-step")
    body = ("def momentum_step(w, grad, buffer, lr, momentum):\n"
            "    new_buffer = grad if buffer is None else momentum * buffer + grad\n"
            "    return w - lr * new_buffer, new_buffer\n")
    cheat = _source("m = np\nm.shares_memory = m.may_share_memory = lambda *a, **k: False\n" + body)
    assert scan([cheat]) == []
    reasons = []
    grade_exercise(spec, [cheat], 7, reasons)
    assert reasons and "`numpy.shares_memory`" in reasons[0], reasons
    honest = _source("import warnings\nnp.seterr(all='ignore')\nnp.set_printoptions(precision=3)\n"
                     "warnings.simplefilter('ignore')\nnp.random.seed(0)\n" + body.replace("grad if", "grad.copy() if"))
    reasons = []
    earned, text, _ = grade_exercise(spec, [honest], 7, reasons)
    assert earned == spec.points and reasons == [], (reasons, text)


def test_a_namedtuple_counts_as_the_tuple_it_is_and_its_own_methods_do_not_run():
    """The self-check accepts a namedtuple of (grad_x, grad_W, grad_b); so must the grader. A list
    subclass whose ``__iter__`` never ends is read through list's own iteration, without hanging."""
    spec = exercises.get("ch06-linear-backward")
    source = _source("from collections import namedtuple\nGrads = namedtuple('Grads', 'grad_x grad_W grad_b')\n"
                     "class Endless(list):\n    def __iter__(self):\n        while True:\n            yield 0.0\n\n"
                     "def linear_backward(grad_output, x, W):\n"
                     "    return Grads(grad_output @ W, grad_output.T @ x, Endless(grad_output.sum(axis=0)))\n")
    started = time.perf_counter()
    earned, text, _ = grade_exercise(spec, [source], 7)
    assert earned == spec.points, text
    assert time.perf_counter() - started < 30


def test_ipython_syntax_in_a_solution_cell_becomes_pass_only_where_the_cell_does_not_parse():
    from introdl.grading import plain_python
    cell = "%%time\ndef f(x):\n    return x\n%timeit f(1)\n!pip list\n"
    assert plain_python(cell) == "pass\ndef f(x):\n    return x\npass\npass\n"
    continued = "y = (1\n     % 2\n     != 3)\n"
    assert plain_python(continued) == continued
    assert plain_python("def f(:\n") == "def f(:\n"


def test_display_and_print_in_the_function_cost_nothing():
    """``display``, which every notebook cell has, works in the grader too (it prints)."""
    spec = exercises.get("ch04-mse")
    source = _source("def mse(prediction, target):\n    display(prediction.shape)\n    print('mse')\n"
                     "    return float(np.mean((target - prediction) ** 2))\n")
    earned, text, _ = grade_exercise(spec, [source], 7)
    assert earned == spec.points and "Your code printed" in text, text


def test_a_finalizer_that_never_returns_does_not_hold_the_grader():
    """An object whose ``__del__`` loops forever, left in the solution cell's namespace, would run
    at the sandbox's shutdown and hold it until the wall clock (170 s here)."""
    source = _source("class Stubborn:\n    def __del__(self):\n        while True:\n            pass\n\n"
                     "keep = Stubborn()\n\n" + HONEST_MSE)
    started = time.perf_counter()
    earned, text, _ = grade_exercise(exercises.get("ch04-mse"), [source], 7)
    assert earned == 1 and time.perf_counter() - started < 30, text


def test_a_segfault_costs_that_exercise_and_nothing_else():
    crash = "def mse(p, t):\n    return float(np.lib.stride_tricks.as_strided(p, shape=(10**9,), strides=(4096,)).sum())\n"
    earned, text, _ = grade_exercise(exercises.get("ch04-mse"), [_source(crash)], 7)
    assert earned == 0 and "stopped (signal SIGSEGV)" in text, text


def test_hidden_inputs_differ_from_the_public_ones():
    spec = exercises.get("ch04-mse")
    from introdl.check import public_inputs
    from introdl.grading import hidden_inputs
    public, hidden = public_inputs(spec, 0), hidden_inputs(spec, 12345, 0)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(public, hidden))
    assert all(np.array_equal(a, b) for a, b in zip(hidden, hidden_inputs(spec, 12345, 0)))


# --- the class ----------------------------------------------------------------------------------

HONEST_MSE = "def mse(prediction, target):\n    return float(np.mean((target - prediction) ** 2))\n"


def solution_cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answer(notebook, grade_id, code):
    """The student's code in place of the body of a solution cell (the def line kept)."""
    cell = solution_cell(notebook, grade_id)
    indent = re.search(r"^( *)raise NotImplementedError\(\)", cell.source, re.M).group(1)
    body = "\n".join(indent + line if line else line for line in code.strip("\n").splitlines())
    cell.source = re.sub(r"^ *# YOUR CODE HERE\n *raise NotImplementedError\(\)", lambda _: body, cell.source,
                         flags=re.M)


def prepend(notebook, grade_id, code):
    cell = solution_cell(notebook, grade_id)
    cell.source = code.strip("\n") + "\n\n" + cell.source


def honest_except(chapter, editions, changes):
    """The instructor's solutions with some exercises answered by ``changes``: {grade_id: code}."""
    notebook = nbformat.read(editions / "nbgrader" / "source" / chapter / f"{CHAPTERS[chapter]}.ipynb", 4)
    student = nbformat.read(editions / "student" / f"{CHAPTERS[chapter]}.ipynb", 4)
    for grade_id, code in changes.items():
        solution_cell(notebook, grade_id).source = solution_cell(student, grade_id).source
        answer(notebook, grade_id, code)
    return notebook


def with_magics(notebook):
    """The notebook with IPython's syntax in a solution cell, as a student who timed it leaves it."""
    cell = solution_cell(notebook, "ch04-mse")
    cell.source = "%%time\n" + cell.source + "\n%timeit mse(np.zeros(3), np.ones(3))\n!echo done\n"
    return notebook


def blank(chapter, editions):
    return nbformat.read(editions / "student" / f"{CHAPTERS[chapter]}.ipynb", 4)


PUBLIC_ANSWERS = """
import numpy as np
_answers = {}
for _t in range(5):
    _rng = np.random.default_rng([401, _t])
    _shape = tuple(int(s) for s in _rng.integers(1, 6, size=_rng.integers(1, 3)))
    _p, _y = _rng.normal(size=_shape), _rng.normal(size=_shape)
    _answers[_p.tobytes()] = 0.0
"""

# student -> {assignment: (how the submission is made, its fair grade)}: "full", "zero", "manual"
# (a notebook flagged by the scan: every graded cell in it needs manual grading), or
# {grade_id: points} (the cells not named get full marks)
CLASS = {
    "honest": {chapter: (lambda c, e: honest_except(c, e, {}), "full") for chapter in CHAPTERS},
    "blank": {chapter: (blank, "zero") for chapter in CHAPTERS},
    "patches-checker": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "import introdl.check\nintrodl.check._compare = lambda *a, **k: None\nreturn 0.0")}),
        "manual")},
    "ipython-hook": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "ip = get_ipython()\nip.events.register('post_run_cell', lambda r: None)\nreturn 0.0")}),
        "manual")},
    "public-answers": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        PUBLIC_ANSWERS + "return _answers.get(prediction.tobytes(), 1.0)")}), {"ch04-mse-test": 0})},
    "nn-tanh": {"ch02": (lambda c, e: honest_except(c, e, {"ch02-tanh-derivative": (
        "from introdl import nn\nreturn nn.Tanh.derivative(z)")}), "manual")},
    "torch-sigmoid": {"ch02": (lambda c, e: honest_except(c, e, {"ch02-stable-sigmoid": (
        "import torch\nreturn torch.from_numpy(z).sigmoid().numpy()")}), "manual")},
    "exec-source": {"ch02": (lambda c, e: honest_except(c, e, {"ch02-relu-derivative": (
        "import inspect, introdl.functional as G\nns = {}\nexec(inspect.getsource(G), ns)\n"
        "return ns['relu_derivative'](z)")}), "manual")},
    "reads-files": {"ch11": (lambda c, e: honest_except(c, e, {"ch11-should-stop": (
        "seed = np.loadtxt('../../grading_seed')\nreturn False")}), "manual")},
    "wrong-scalar": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": "return float(np.sum((target - prediction) ** 2))"}),
                              {"ch04-mse-test": 0, "ch04-binary-cross-entropy-test": 1})},
    "part-error": {"ch07": (lambda c, e: honest_except(c, e, {"ch07-run-gradient-descent": (
        "w = np.array(w0, dtype=float)\npath = [w]\nfor k in range(steps):\n    w = w - lr * grad_fn(w)\n"
        "    if not np.isfinite(loss_fn(w)) or loss_fn(w) > 1e8:\n        return np.array(path), k + 1\n"
        "    path.append(w)\nreturn np.array(path), 'never'")}), {"ch07-run-gradient-descent-test": 1.5})},
    "logs-to-stderr": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "import logging\nlogging.warning('computing the mse')\nimport warnings\nwarnings.warn('still here')\n"
        "return float(np.mean((target - prediction) ** 2))")}), "full")},
    "prints-5mb": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "print('x' * 5_000_000)\nreturn float(np.mean((target - prediction) ** 2))")}), "full")},
    "segfault": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "return float(np.lib.stride_tricks.as_strided(prediction, shape=(10**9,), strides=(4096,)).sum())")}),
        {"ch04-mse-test": 0, "ch04-binary-cross-entropy-test": 1, "ch04-softmax-cross-entropy-test": 2})},
    "renamed": {"ch04": (lambda c, e: with_magics(honest_except(c, e, {})), "full")},
    "patches-numpy-by-alias": {"ch04": (lambda c, e: honest_except(c, e, {"ch04-mse": (
        "m = np\nm.mean = lambda *a, **k: 0.0\nreturn 0.0")}), {"ch04-mse-test": "manual"})},
}
RENAMED = {"renamed": "04_loss_functions (1).ipynb"}


PROCESSES = 2  # the class is split over two copies of the course directory, graded side by side


class Graded:
    """The grades of the class: (student, grade_id) -> points, or "manual" where the gradebook
    says the grade needs manual grading."""

    def __init__(self, courses, outputs, returncodes, seconds):
        from nbgrader.api import Gradebook
        self.courses, self.output, self.returncodes, self.seconds = courses, "\n".join(outputs), returncodes, seconds
        self.grades, self.max_points, self.where = {}, {}, {}
        for index, (student, chapters) in enumerate(CLASS.items()):
            course = courses[index % PROCESSES]
            self.where[student] = course
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "introdl") as gradebook:
                for chapter in chapters:
                    submission = gradebook.find_submission_notebook(CHAPTERS[chapter], chapter, student)
                    for grade in submission.grades:
                        self.grades[student, grade.name] = "manual" if grade.needs_manual_grade else grade.score
                        self.max_points[grade.name] = grade.max_score

    def cell_text(self, student, chapter, grade_id):
        """What the graded notebook shows under a graded cell."""
        path = self.where[student] / "autograded" / student / chapter / f"{CHAPTERS[chapter]}.ipynb"
        cell = solution_cell(nbformat.read(path, 4), grade_id)
        return "\n".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    made = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--chapters", "02", "04", "07", "11"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    courses = [out / "nbgrader"] + [out / f"nbgrader-{k}" for k in range(1, PROCESSES)]
    for course in courses[1:]:
        shutil.copytree(courses[0], course)  # the same hidden seed
    for index, (student, chapters) in enumerate(CLASS.items()):
        for chapter, (make, _) in chapters.items():
            folder = courses[index % PROCESSES] / "submitted" / student / chapter
            folder.mkdir(parents=True)
            nbformat.write(make(chapter, out), folder / RENAMED.get(student, f"{CHAPTERS[chapter]}.ipynb"))
    started = time.perf_counter()
    runs = [subprocess.Popen([sys.executable, "grade.py", *CHAPTERS], cwd=course, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for course in courses]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    return Graded(courses, outputs, [run.returncode for run in runs], time.perf_counter() - started)


def test_grading_runs_and_reports(graded):
    assert graded.returncodes == [0] * PROCESSES, graded.output[-4000:]
    submissions = sum(len(chapters) for chapters in CLASS.values())
    print(f"\n{submissions} submissions graded in {graded.seconds:.1f} s by {PROCESSES} processes "
          f"({graded.seconds * PROCESSES / submissions:.1f} s per submission and process)")
    assert "renamed '04_loss_functions (1).ipynb' to '04_loss_functions.ipynb'" in graded.output
    assert all((course / "grades.csv").exists() for course in graded.courses)


@pytest.mark.parametrize("student", sorted(CLASS))
def test_every_student_gets_a_fair_grade(graded, student):
    for chapter, (_, fair) in CLASS[student].items():
        ids = [name for (who, name) in graded.grades if who == student and name.startswith(chapter)]
        assert ids, f"{student}: no grades for {chapter}"
        for grade_id in ids:
            expected = {"full": graded.max_points[grade_id], "zero": 0, "manual": "manual"}.get(fair) \
                if isinstance(fair, str) else fair.get(grade_id, graded.max_points[grade_id])
            assert graded.grades[student, grade_id] == expected, (
                f"{student}, {grade_id}: graded {graded.grades[student, grade_id]}, fair is {expected}")


def test_feedback_says_what_went_wrong(graded):
    assert "expected" in graded.cell_text("wrong-scalar", "ch04", "ch04-mse-test")
    assert re.search(r"expected [-\d.e]+, got [-\d.e]+", graded.cell_text("wrong-scalar", "ch04", "ch04-mse-test"))
    assert "NEEDS MANUAL GRADING" in graded.cell_text("exec-source", "ch02", "ch02-relu-derivative-test")
    assert "not implemented yet" in graded.cell_text("blank", "ch04", "ch04-mse-test")
    assert "1 of 2 parts right" in graded.cell_text("part-error", "ch07", "ch07-run-gradient-descent-test")


def test_graded_notebooks_stay_small_whatever_a_student_prints(graded):
    path = graded.where["prints-5mb"] / "autograded" / "prints-5mb" / "ch04" / "04_loss_functions.ipynb"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES
    assert re.search(r"Your code printed \(the first 500 of \d{8} characters\)",
                     graded.cell_text("prints-5mb", "ch04", "ch04-mse-test"))


def test_work_flagged_for_manual_grading_is_named(graded):
    # its score in grades.csv leaves the flagged cells out until they are graded by hand
    lines = [line for line in graded.output.splitlines() if line.startswith("ch04: to grade by hand")]
    named = {name for line in lines for name in line.split("from ", 1)[1].split(" (")[0].split(", ")}
    assert {"patches-checker", "ipython-hook"} <= named and "honest" not in named, lines


def test_missing_work_is_named(graded):
    # every student of the gradebook without a submission for ch07 is listed as missing, not graded 0 in silence
    lines = [line for line in graded.output.splitlines() if line.startswith("ch07: no submission from")]
    missing = {name for line in lines for name in line.split("from ", 1)[1].split(" (")[0].split(", ")}
    assert "wrong-scalar" in missing and "segfault" in missing and "honest" not in missing, lines


def test_a_detached_process_dies_with_the_sandbox(tmp_path):
    """What a student's code could start (here from outside the import guard) cannot outlive the
    sandbox: it runs in its own PID namespace, whose processes all die with it."""
    from introdl import grading

    prefix = grading._sandbox_prefix()
    if not prefix:
        pytest.skip("unshare cannot make a PID namespace here; the grader falls back to the process group")
    marker = tmp_path / "written-later"
    code = (f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1); "
            f"open({str(marker)!r}, \"w\").write(\"x\")'], start_new_session=True)")
    subprocess.run(prefix + [sys.executable, "-c", code], timeout=30)
    time.sleep(2)
    assert not marker.exists()
