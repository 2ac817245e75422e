"""The exercises work as course assignments, through the real nbgrader.

Three layers, cheapest first:

* markup: every chapter (any ``book/NN_*.ipynb``, so new chapters are covered as they appear)
  has 2–4 graded exercises whose nbgrader metadata is right, solution cells carry the website's
  ``hide-input`` tag and graded test cells are locked; graded cells import what they use, are
  seeded and name real functions in ``forbid``; the chapter's own cells never call a function a
  student writes (so the student edition runs top to bottom);
* editions: ``scripts/make_editions.py`` (which runs nbgrader's ``generate_assignment``) runs
  once per session; the student edition has no solution left, no outputs, and the tests kept;
  a teacher's own ``nbgrader_config.py`` is kept;
* autograde: one pass of the real ``nbgrader autograde``, split over two processes, grades the
  instructor's solutions (full marks) and the untouched student copy (zero) of every chapter, and
  a small class in chapters 5 and 6 whose every graded cell must get its fair grade.

nbgrader always runs in a subprocess: it emits warnings (SQLAlchemy's SAWarning from its own
gradebook code, ipykernel's "running over TCP without encryption") that this project's
``filterwarnings = error`` would otherwise turn into failures, and its logging stays out of the
test output unless a test fails and shows it.
"""
import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_editions.py"
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
IDS = [path.stem for path in CHAPTERS]

SOLUTIONS, BLANK = "instructor-solutions", "blank-copy"  # the two "students" autograde sees
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOT_DONE = "not implemented yet"  # what introdl.check says when it meets NotImplementedError
SECONDS_PER_RUN = 60  # generous: one submission takes 2–4 s on a quiet machine, more on a busy one

by_chapter = pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_editions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_editions = _load_script()


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def solution_cells(notebook):
    return [cell for cell in notebook.cells if nbgrader_meta(cell).get("solution")]


def graded_cells(notebook):
    return [cell for cell in notebook.cells if nbgrader_meta(cell).get("grade")]


def where(chapter, cell):
    return f"{chapter.name}, cell {cell.get('id', '?')} ({nbgrader_meta(cell).get('grade_id', 'no grade_id')})"


def solution_lines(source):
    """The stripped, non-blank lines between the solution markers of one cell's source."""
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def outside_solution_lines(notebook):
    """Every stripped line of every cell that is not inside a solution block."""
    found = set()
    for cell in notebook.cells:
        hidden = set(solution_lines(cell.source))
        found.update(line.strip() for line in cell.source.splitlines() if line.strip() not in hidden)
    return found


# --- markup: no nbgrader needed -------------------------------------------------------------


def test_chapters_are_found():
    assert CHAPTERS, "no chapter notebooks book/NN_*.ipynb"


@by_chapter
def test_chapter_has_two_to_four_graded_exercises(chapter):
    notebook = read(chapter)
    solutions, graded = solution_cells(notebook), graded_cells(notebook)
    assert 2 <= len(solutions) <= 4, f"{chapter.name}: {len(solutions)} solution cells, expected 2–4"
    assert 2 <= len(graded) <= 4, f"{chapter.name}: {len(graded)} graded test cells, expected 2–4"
    for cell in graded:
        points = nbgrader_meta(cell).get("points")
        assert isinstance(points, (int, float)) and points > 0, f"{where(chapter, cell)}: points {points!r}"


@by_chapter
def test_exercise_cells_carry_nbgrader_metadata(chapter):
    """Solution cells and graded test cells have the fields nbgrader's schema 3 expects."""
    notebook = read(chapter)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{chapter.name}: kernelspec should be python3 (nbgrader runs that kernel)"
    )
    prefix = f"ch{chapter.name[:2]}-"
    for cell in solution_cells(notebook) + graded_cells(notebook):
        meta = nbgrader_meta(cell)
        assert cell.cell_type == "code", f"{where(chapter, cell)}: exercise cells are code cells"
        assert meta.get("schema_version") == 3, f"{where(chapter, cell)}: schema_version should be 3"
        assert str(meta.get("grade_id", "")).startswith(prefix), (
            f"{where(chapter, cell)}: grade_id should start with {prefix!r}"
        )
        assert not meta.get("task"), f"{where(chapter, cell)}: task cells are not used"
    for cell in solution_cells(notebook):
        assert not nbgrader_meta(cell).get("grade"), f"{where(chapter, cell)}: a solution cell is not graded"
        assert not nbgrader_meta(cell).get("locked"), f"{where(chapter, cell)}: a solution cell must be editable"
        lines = [line.strip() for line in cell.source.splitlines()]
        assert lines.count(BEGIN) == lines.count(END) >= 1, (
            f"{where(chapter, cell)}: needs matching {BEGIN!r} / {END!r} lines"
        )
        assert solution_lines(cell.source), f"{where(chapter, cell)}: the solution block is empty"
    for cell in graded_cells(notebook):
        assert not nbgrader_meta(cell).get("solution"), (
            f"{where(chapter, cell)}: a graded test cell holds no solution"
        )


@by_chapter
def test_solution_cells_are_collapsed_on_the_website(chapter):
    """The website hides solutions behind a toggle because each solution cell is tagged hide-input."""
    for cell in solution_cells(read(chapter)):
        assert "hide-input" in cell.metadata.get("tags", []), f"{where(chapter, cell)}: no hide-input tag"


@by_chapter
def test_graded_test_cells_are_locked(chapter):
    for cell in graded_cells(read(chapter)):
        assert nbgrader_meta(cell).get("locked") is True, f"{where(chapter, cell)}: not locked"


@by_chapter
def test_solution_markers_only_in_solution_cells(chapter):
    """nbgrader refuses a marker outside a solution cell, and the website would show it."""
    for cell in read(chapter).cells:
        if not nbgrader_meta(cell).get("solution"):
            assert BEGIN not in cell.source and END not in cell.source, (
                f"{where(chapter, cell)}: solution markers in a cell not marked as a solution"
            )


def test_grade_ids_are_unique_across_the_book():
    seen = {}
    for chapter in CHAPTERS:
        for cell in read(chapter).cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id is not None:
                assert grade_id not in seen, f"grade_id {grade_id!r} in {chapter.name} and in {seen[grade_id]}"
                seen[grade_id] = chapter.name


def test_chapters_option_selects_by_number():
    first = CHAPTERS[0]
    number = first.name[:2]
    assert make_editions.chapters([number, str(int(number)), number]) == [first]
    assert make_editions.chapters() == CHAPTERS
    with pytest.raises(SystemExit, match="no chapter notebook"):
        make_editions.chapters(["99"])
    assert make_editions.assignment_id(first) == f"ch{number}"


# --- graded cells: self-contained, seeded, the reference out of reach ---------------------------

CHECKS = ("check_function", "check_value", "check_true", "partial_credit")


@by_chapter
def test_graded_cells_import_what_they_use_and_are_seeded(chapter):
    """A graded cell cannot be changed by another cell: it imports the checks and numpy itself,
    draws only from fixed seeds, and names the functions a student may not call."""
    import torch  # noqa: F401  (loaded, so that torch's names in forbid are looked up too)
    from introdl.check import _resolve

    for cell in graded_cells(read(chapter)):
        source = cell.source
        used = [name for name in CHECKS if re.search(rf"\b{name}\(", source)]
        assert used, f"{where(chapter, cell)}: calls none of {CHECKS}"
        for name in used:
            assert re.search(rf"^from introdl\.check import .*\b{name}\b", source, re.M), (
                f"{where(chapter, cell)}: uses {name} without importing it in the cell")
        if re.search(r"\bnp\.", source):
            assert re.search(r"^import numpy as np$", source, re.M), f"{where(chapter, cell)}: np not imported"
        if re.search(r"\bF\.", source):
            assert re.search(r"^import introdl\.functional as F$", source, re.M), f"{where(chapter, cell)}: F not imported"
        assert "default_rng()" not in source, f"{where(chapter, cell)}: an unseeded generator"
        calls = source.count("check_function(")
        assert source.count("seed=") >= calls, f"{where(chapter, cell)}: a check_function without seed="
        for names in re.findall(r"forbid=\[([^\]]*)\]", source):
            _resolve(re.findall(r'"([^"]+)"', names))  # a name that does not exist raises


def test_seeds_differ_between_exercises():
    seeds = {}
    for chapter in CHAPTERS:
        for cell in graded_cells(read(chapter)):
            for seed in set(re.findall(r"\bseed=(\d+)", cell.source)):
                assert seed not in seeds, f"seed {seed} in {where(chapter, cell)} and in {seeds[seed]}"
                seeds[seed] = where(chapter, cell)


def test_a_teachers_nbgrader_config_is_kept(tmp_path):
    course = tmp_path / "nbgrader"
    course.mkdir()
    mine = 'c = get_config()\nload_subconfig("introdl_nbgrader_defaults.py")\nc.Execute.timeout = 7\n'
    (course / "nbgrader_config.py").write_text(mine)
    make_editions.write_course_directory(course, [])
    assert (course / "nbgrader_config.py").read_text() == mine
    defaults = (course / make_editions.BOOK_CONFIG_NAME).read_text()
    assert "c.OverwriteCells.add_missing_cells = True" in defaults
    assert f"c.Execute.timeout = {make_editions.CELL_TIMEOUT}" in defaults


def test_a_config_written_by_old_versions_is_replaced_and_loads_the_defaults(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    course = tmp_path / "nbgrader"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(make_editions.OLD_GENERATED_CONFIG + "\nc = get_config()\n")
    make_editions.write_course_directory(course, [])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert config.CourseDirectory.root == str(course)
    assert config.OverwriteCells.add_missing_cells is True
    assert config.Execute.timeout == make_editions.CELL_TIMEOUT
    assert "loop forever" in config.Execute.error_on_timeout["evalue"]


# --- editions: scripts/make_editions.py, once --------------------------------------------------


@dataclass
class Editions:
    out: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def course(self):
        return self.out / "nbgrader"

    def source(self, chapter):
        """The copy of the chapter the script gave nbgrader: chapters being edited while the
        tests run cannot make the editions disagree with the book."""
        return self.course / "source" / make_editions.assignment_id(chapter) / chapter.name

    def student(self, chapter):
        return self.out / "student" / chapter.name

    def instructor(self, chapter):
        return self.out / "instructor" / chapter.name

    def require(self, chapter):
        """Fail this chapter's test with nbgrader's own message if its edition was not made."""
        if not self.student(chapter).exists():
            pytest.fail(f"make_editions.py made no student edition of {chapter.name} "
                        f"(exit {self.returncode}):\n{self.stderr[-4000:]}")


@pytest.fixture(scope="session")
def editions(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    return Editions(out, done.returncode, done.stdout, done.stderr)


def test_make_editions_succeeds(editions):
    assert editions.returncode == 0, f"make_editions.py exited {editions.returncode}:\n{editions.stderr[-4000:]}"
    assert (editions.course / "nbgrader_config.py").exists()
    assert (editions.course / "gradebook.db").exists()


@by_chapter
def test_script_reports_graded_cells_and_points(editions, chapter):
    editions.require(chapter)
    graded = graded_cells(read(editions.source(chapter)))
    points = sum(nbgrader_meta(cell)["points"] for cell in graded)
    line = f"ch{chapter.name[:2]}  {chapter.name}"
    reported = [row for row in editions.stdout.splitlines() if line in row]
    assert len(reported) == 1, f"no summary line for {chapter.name} in:\n{editions.stdout}"
    assert re.search(rf"\b{len(graded)} graded cells, {points:g} points\b", reported[0]), reported[0]


@by_chapter
def test_student_edition_has_no_solutions(editions, chapter):
    editions.require(chapter)
    source, student = read(editions.source(chapter)), read(editions.student(chapter))
    text = editions.student(chapter).read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    # A solution line may legitimately appear elsewhere in the chapter (say `t = np.tanh(z)` in the
    # main text); only lines found nowhere but in a solution block must be gone.
    public = outside_solution_lines(source)
    student_lines = {line.strip() for cell in student.cells for line in cell.source.splitlines()}
    for cell in solution_cells(source):
        leaked = [line for line in solution_lines(cell.source) if line not in public and line in student_lines]
        assert not leaked, f"{where(chapter, cell)}: the student edition still contains {leaked}"
    stubs = [cell for cell in solution_cells(student) if "raise NotImplementedError()" in cell.source]
    assert len(stubs) == len(solution_cells(source)), "every solution should become `raise NotImplementedError()`"


@by_chapter
def test_student_edition_has_no_outputs_and_keeps_the_tests(editions, chapter):
    editions.require(chapter)
    student = read(editions.student(chapter))
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{chapter.name}, cell {cell.get('id')}: outputs not cleared in the student edition"
            )
    expected = {nbgrader_meta(c)["grade_id"]: c.source for c in graded_cells(read(editions.source(chapter)))}
    kept = {nbgrader_meta(c)["grade_id"]: c.source for c in graded_cells(student)}
    assert kept == expected, f"{chapter.name}: the graded test cells differ in the student edition"
    for cell in graded_cells(student):
        assert cell.metadata.get("editable") is False, f"{where(chapter, cell)}: editable in the student edition"


@by_chapter
def test_instructor_edition_is_the_chapter(editions, chapter):
    """The instructor edition is the chapter itself, solutions and outputs included."""
    editions.require(chapter)
    assert editions.instructor(chapter).read_bytes() == editions.source(chapter).read_bytes()
    instructor = read(editions.instructor(chapter))
    assert all(BEGIN in cell.source for cell in solution_cells(instructor))
    assert any(cell.get("outputs") for cell in instructor.cells), f"{chapter.name}: no outputs stored"


# --- autograde: one nbgrader pass over every chapter and a simulated class ----------------------
#
# What a submission costs is a kernel, its imports and the graded cells: the chapter's own
# experiments are run (with the solutions) by nbval, so the submissions here hold only the cells
# that the exercises need: one cell with the chapter's imports of the names the exercises section
# uses (none in the blank copies), and everything from its "## Exercises" heading on (a student
# may delete any cell but the locked ones). That the graded cells pass in such a copy also shows
# that they depend on nothing else in the chapter. The submissions are split over two nbgrader
# processes, each grading in its own copy of the course directory.

EXERCISES_HEADING = re.compile(r"^## Exercises", re.M)
IMPORT = re.compile(r"^(import \S|from \S+ import [^(]+$)")  # a one-line import statement
PROCESSES = 2


def exercises_start(notebook):
    """The index of the Markdown cell holding the chapter's "## Exercises" heading."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source):
            return index
    raise AssertionError("no '## Exercises' heading")


def imports_used(cells, code):
    """The import statements of ``cells`` that bind a name ``code`` uses, as source lines: a
    ``from m import a, b`` is cut down to the names used (``import torch`` alone takes 2 s)."""
    lines = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        try:
            statements = ast.parse(cell.source).body
        except SyntaxError:  # IPython syntax (a magic): its import lines one by one
            statements = [node for line in cell.source.splitlines() if IMPORT.match(line)
                          for node in ast.parse(line.strip()).body]
        for statement in statements:
            if not isinstance(statement, (ast.Import, ast.ImportFrom)):
                continue
            used = [alias for alias in statement.names
                    if re.search(rf"\b{re.escape((alias.asname or alias.name).split('.')[0])}\b", code)]
            if used:
                statement.names = used
                lines.append(ast.unparse(statement))
    return lines


def exercise_sheet(notebook, imports=True):
    """The chapter's exercises section, after one cell with the imports it uses (unless
    ``imports`` is False): what a submission needs to be graded."""
    start = exercises_start(notebook)
    exercises = notebook.cells[start:]
    if imports:
        code = "\n".join(cell.source for cell in exercises  # the graded cells import their own
                         if cell.cell_type == "code" and not nbgrader_meta(cell).get("grade"))
        lines = imports_used(notebook.cells[:start], code)
        exercises = [nbformat.v4.new_code_cell("\n".join(lines))] + exercises
    notebook.cells = exercises
    return notebook


def test_chapter_text_does_not_run_the_exercises():
    """The chapter's own cells never call a function a student writes, so the student edition (in
    which those functions raise NotImplementedError) runs top to bottom like the book."""
    problems = []
    for chapter in CHAPTERS:
        notebook = read(chapter)
        start = exercises_start(notebook)
        written = {name for cell in solution_cells(notebook)
                   for name in re.findall(r"^def (\w+)", cell.source, re.M)}
        assert written, f"{chapter.name}: no function defined in a solution cell"
        assert all(index > start for index, cell in enumerate(notebook.cells) if nbgrader_meta(cell)), (
            f"{chapter.name}: an exercise cell before the '## Exercises' heading")
        for cell in notebook.cells[:start]:
            used = {name for name in written if re.search(rf"(?<![.\w]){name}\(", cell.source)}
            if cell.cell_type == "code" and used:
                problems.append(f"{chapter.name}, cell {cell.get('id')}: uses {sorted(used)}")
    assert not problems, "\n".join(problems)


@dataclass
class Autograded:
    courses: list
    returncodes: list
    log: str
    scores: dict = field(default_factory=dict)  # (student, assignment) -> (score, max_score)
    cells: dict = field(default_factory=dict)   # (student, grade_id) -> score
    seconds: float = 0.0  # wall-clock time of the whole pass

    def notebook(self, student, chapter):
        for course in self.courses:
            path = course / "autograded" / student / make_editions.assignment_id(chapter) / chapter.name
            if path.exists():
                return path
        raise AssertionError(f"no autograded copy of {student}'s {chapter.name}")

    def require(self, student, chapter):
        if (student, make_editions.assignment_id(chapter)) not in self.scores:
            pytest.fail(f"nbgrader autograde recorded no grade for {student}'s {chapter.name} "
                        f"(exit {self.returncodes}):\n{self.log[-4000:]}")


def _environment_with_venv_on_path():
    """os.environ with this Python's bin/ first on PATH: nbgrader runs its environment's `alembic`
    command, which is found there even when the virtualenv is not activated."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


# --- the class: students whose work exercises every way grading went wrong ----------------------

def _cell_with(notebook, grade_id):
    return next(cell for cell in notebook.cells if nbgrader_meta(cell).get("grade_id") == grade_id)


def _answer(notebook, grade_id, code):
    """Fill a solution cell: the student's code in place of `raise NotImplementedError()`."""
    cell = _cell_with(notebook, grade_id)
    assert "raise NotImplementedError()" in cell.source, cell.source
    indent = re.search(r"^( *)raise NotImplementedError\(\)", cell.source, re.M).group(1)
    code = "\n".join(indent + line if line else line for line in code.strip("\n").splitlines())
    cell.source = cell.source.replace(indent + "raise NotImplementedError()", code, 1)


def _delete(notebook, grade_id):
    notebook.cells.remove(_cell_with(notebook, grade_id))


def _edit(notebook, grade_id, source):
    _cell_with(notebook, grade_id).source = source


CH05 = "05_gradient_descent.ipynb"
CH06 = "06_backpropagation.ipynb"
NUMERICAL_GRADIENT = """
grad = np.zeros(2)
for i in range(2):
    step = np.zeros(2)
    step[i] = h
    grad[i] = (J(w + step) - J(w - step)) / (2 * h)
return grad
"""
def _careless(notebook):
    """float32 in exercise 1, a wrong grad_b (keepdims) in exercise 2, exercise 3 right but its test
    cell deleted (the cell that imports check_function first in the old chapters)."""
    _answer(notebook, "ch06-sigmoid-layer-backward", "s = 1 / (1 + np.exp(-z))\n"
            "return (grad_output * s * (1 - s)).astype(np.float32)")
    _answer(notebook, "ch06-linear-backward", "return grad_output @ W, grad_output.T @ x, "
            "grad_output.sum(axis=0, keepdims=True)")
    _answer(notebook, "ch06-chain-rule-w1", "a1 = 1 / (1 + np.exp(-w1 * x))\n"
            "return 2 * (w2 * a1 - y) * w2 * a1 * (1 - a1) * x")
    _delete(notebook, "ch06-sigmoid-layer-backward-test")
    _delete(notebook, "ch06-chain-rule-w1-test")


def _cheater(notebook):
    """Calls the library in exercise 1 (under another name); in exercise 2 a wrong answer and a
    fake check_function, partial_credit, np and F; in exercise 3 a wrong answer and a test cell
    edited to pass."""
    _answer(notebook, "ch06-sigmoid-layer-backward", "from introdl.nn import Sigmoid as S\n"
            "layer = S()\nlayer(z)\nreturn layer.backward(grad_output)")
    fake = _cell_with(notebook, "ch06-linear-backward")
    _answer(notebook, "ch06-linear-backward", "return grad_output, x, W")
    fake.source += ("\n\n\ndef check_function(*args, **kwargs):\n    print('✓ matches the reference')\n\n\n"
                    "def partial_credit(points, parts):\n    return points\n\n\nnp = F = None\n")
    _answer(notebook, "ch06-chain-rule-w1", "return 0.0")
    _edit(notebook, "ch06-chain-rule-w1-test", "print('✓ chain_rule_w1 matches the reference')")


def _aliasing_and_looping(notebook):
    """Exercise 1 changes w in place and returns it; exercise 2 loops forever; exercise 3 right."""
    _answer(notebook, "ch05-gradient-descent-step", "w -= lr * grad\nreturn w")
    _answer(notebook, "ch05-gradient-descent", "while True:\n    pass")
    _answer(notebook, "ch05-numerical-gradient-2d", NUMERICAL_GRADIENT)


CLASS = {  # student -> (chapter file, how the student edition was changed)
    "careless": (CH06, _careless),
    "cheater": (CH06, _cheater),
    "aliasing-and-looping": (CH05, _aliasing_and_looping),
}
# The fair grade of every graded cell: grade_id -> points, per student.
FAIR = {
    "careless": {"ch06-sigmoid-layer-backward-test": 0, "ch06-linear-backward-test": 2,
                 "ch06-chain-rule-w1-test": 2},
    "cheater": {"ch06-sigmoid-layer-backward-test": 0, "ch06-linear-backward-test": 0,
                "ch06-chain-rule-w1-test": 0},
    "aliasing-and-looping": {"ch05-gradient-descent-step-test": 0, "ch05-gradient-descent-test": 0,
                             "ch05-numerical-gradient-2d-test": 2},
}


@pytest.fixture(scope="session")
def autograded(editions):
    from nbgrader.api import Gradebook, MissingEntry

    started = time.perf_counter()
    made = [chapter for chapter in CHAPTERS if editions.student(chapter).exists()]
    submissions = []  # (student, chapter, notebook)
    for chapter in made:
        submissions.append((SOLUTIONS, chapter, exercise_sheet(read(editions.source(chapter)))))
        # The blank copy without the chapter's imports: its graded cells must fail with "not
        # implemented yet" all the same, since each imports what it uses.
        submissions.append((BLANK, chapter, exercise_sheet(read(editions.student(chapter)), imports=False)))
    by_name = {chapter.name: chapter for chapter in made}
    for student, (name, change) in CLASS.items():
        if name in by_name:
            notebook = read(editions.student(by_name[name]))
            change(notebook)
            submissions.append((student, by_name[name], exercise_sheet(notebook)))

    # One course directory per process, each with its share of the submissions.
    courses = [editions.course] + [editions.course.with_name(f"nbgrader-{k}") for k in range(1, PROCESSES)]
    for course in courses[1:]:
        shutil.rmtree(course, ignore_errors=True)
        shutil.copytree(editions.course, course, ignore=shutil.ignore_patterns("submitted", "autograded"))
    for index, (student, chapter, notebook) in enumerate(submissions):
        folder = courses[index % PROCESSES] / "submitted" / student / make_editions.assignment_id(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / chapter.name)
    # Autograde creates the students in the gradebook and grades every assignment ("*").
    runs = [subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", "*", "--create", "--force"],
                             cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=_environment_with_venv_on_path())
            for course in courses]
    logs = [run.communicate(timeout=120 + SECONDS_PER_RUN * len(submissions))[0] for run in runs]
    result = Autograded(courses, [run.returncode for run in runs], "\n".join(logs))
    for index, (student, chapter, _) in enumerate(submissions):
        course, assignment = courses[index % PROCESSES], make_editions.assignment_id(chapter)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", make_editions.COURSE_ID) as gradebook:
            try:
                graded = gradebook.find_submission_notebook(chapter.stem, assignment, student)
            except MissingEntry:
                continue
            result.scores[student, assignment] = (graded.score, graded.max_score)
            for grade in graded.grades:
                result.cells[student, grade.name] = grade.score
    result.seconds = time.perf_counter() - started
    return result


def cell_errors(path):
    """(cell, error output) for every error the autograder's run of a notebook left."""
    return [(cell, output) for cell in read(path).cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "error"]


def test_autograder_does_not_crash(autograded):
    errors = [line for line in autograded.log.splitlines() if "| ERROR]" in line or "CRITICAL" in line]
    assert autograded.returncodes == [0] * PROCESSES and not errors, (
        f"nbgrader autograde exited {autograded.returncodes}:\n" + "\n".join(errors or [autograded.log[-4000:]])
    )
    print(f"\nnbgrader: {len(autograded.scores)} submissions graded in {autograded.seconds:.1f} s")


@by_chapter
def test_solutions_get_full_marks(autograded, chapter):
    autograded.require(SOLUTIONS, chapter)
    score, max_score = autograded.scores[SOLUTIONS, make_editions.assignment_id(chapter)]
    failing = [f"{where(chapter, cell)}: {output.ename}: {output.evalue}"
               for cell, output in cell_errors(autograded.notebook(SOLUTIONS, chapter))]
    assert max_score > 0 and score == max_score, (
        f"{chapter.name}: the instructor's solutions score {score:g} of {max_score:g}\n" + "\n".join(failing)
    )
    assert not failing, "the solutions run with errors:\n" + "\n".join(failing)


@by_chapter
def test_blank_copy_gets_zero(autograded, chapter):
    autograded.require(BLANK, chapter)
    score, max_score = autograded.scores[BLANK, make_editions.assignment_id(chapter)]
    assert max_score > 0 and score == 0, f"{chapter.name}: the untouched student copy scores {score:g} of {max_score:g}"


@by_chapter
def test_blank_copy_fails_only_with_not_implemented_yet(autograded, chapter):
    """In the student copy, the only errors are the graded cells saying "not implemented yet"."""
    autograded.require(BLANK, chapter)
    problems = []
    for cell, output in cell_errors(autograded.notebook(BLANK, chapter)):
        if not nbgrader_meta(cell).get("grade"):
            problems.append(f"{where(chapter, cell)} is not a graded cell but raised {output.ename}: {output.evalue}")
        elif output.ename != "AssertionError" or NOT_DONE not in output.evalue:
            problems.append(f"{where(chapter, cell)} raised {output.ename}: {output.evalue} "
                            f"(expected introdl.check's AssertionError '... {NOT_DONE} ...')")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("student", sorted(FAIR))
def test_class_gets_fair_grades(autograded, student):
    """Each graded cell of each student of the class gets the grade its answer deserves."""
    chapter = next(path for path in CHAPTERS if path.name == CLASS[student][0])
    autograded.require(student, chapter)
    got = {grade_id: autograded.cells.get((student, grade_id)) for grade_id in FAIR[student]}
    assert got == FAIR[student], f"{student}: graded {got}, fair is {FAIR[student]}"


def test_feedback_names_the_problem(autograded):
    """What the class sees in the graded notebooks: the message first, in the check's words."""
    chapter = next(path for path in CHAPTERS if path.name == CH06)
    expected = {
        ("careless", "ch06-sigmoid-layer-backward-test"): "returned float32 numbers",
        ("careless", "ch06-linear-backward-test"): "2 of 3 parts right",
        ("cheater", "ch06-sigmoid-layer-backward-test"): "called introdl.nn.Sigmoid.backward",
    }
    chapter5 = next(path for path in CHAPTERS if path.name == CH05)
    expected5 = {
        ("aliasing-and-looping", "ch05-gradient-descent-step-test"): "changed its input `w` in place",
        ("aliasing-and-looping", "ch05-gradient-descent-test"): "does it loop forever?",
    }
    for table, path in ((expected, chapter), (expected5, chapter5)):
        for (student, grade_id), words in table.items():
            notebook = read(autograded.notebook(student, path))
            cell = _cell_with(notebook, grade_id)
            text = "\n".join(output.get("text", "") + output.get("evalue", "") for output in cell.outputs)
            assert words in text, f"{student}, {grade_id}: expected {words!r} in\n{text}"
            for output in cell.outputs:
                if output.output_type == "error":
                    shown = "\n".join(output.traceback)
                    assert "check.py" not in shown, f"{student}, {grade_id}: library frames shown:\n{shown}"
