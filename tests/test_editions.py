"""The exercises work as course assignments, through the real nbgrader.

Three layers, cheapest first:

* markup: every chapter (any ``book/NN_*.ipynb``, so new chapters are covered as they appear)
  has 2–4 graded exercises whose nbgrader metadata is right, solution cells carry the website's
  ``hide-input`` tag and graded test cells are locked;
* editions: ``scripts/make_editions.py`` (which runs nbgrader's ``generate_assignment``) runs
  once per session; the student edition has no solution left, no outputs, and the tests kept;
* autograde: one ``nbgrader autograde`` run grades two submissions of every chapter — the
  instructor's solutions, which must get full marks, and the untouched student copy, which must
  get zero — and its executed notebooks show that the student copy runs top to bottom.

nbgrader always runs in a subprocess: it emits warnings (SQLAlchemy's SAWarning from its own
gradebook code, ipykernel's "running over TCP without encryption") that this project's
``filterwarnings = error`` would otherwise turn into failures, and its logging stays out of the
test output unless a test fails and shows it.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
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
SECONDS_PER_RUN = 180  # generous: one chapter takes 5–10 s on a quiet machine, more on a busy one

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


# --- autograde: one nbgrader run over every chapter, two submissions each ----------------------


@dataclass
class Autograded:
    course: Path
    returncode: int
    log: str
    scores: dict = field(default_factory=dict)  # (student, assignment) -> (score, max_score)

    def notebook(self, student, chapter):
        return self.course / "autograded" / student / make_editions.assignment_id(chapter) / chapter.name

    def require(self, student, chapter):
        if (student, make_editions.assignment_id(chapter)) not in self.scores:
            pytest.fail(f"nbgrader autograde recorded no grade for {student}'s {chapter.name} "
                        f"(exit {self.returncode}):\n{self.log[-4000:]}")


def _environment_with_venv_on_path():
    """os.environ with this Python's bin/ first on PATH: nbgrader runs its environment's `alembic`
    command, which is found there even when the virtualenv is not activated."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.fixture(scope="session")
def autograded(editions):
    from nbgrader.api import Gradebook, MissingEntry

    course = editions.course
    made = [chapter for chapter in CHAPTERS if editions.student(chapter).exists()]
    for chapter in made:
        assignment = make_editions.assignment_id(chapter)
        for student, copy in ((SOLUTIONS, editions.source(chapter)), (BLANK, editions.student(chapter))):
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(copy, folder / chapter.name)
    # Autograde creates the students in the gradebook (Autograde.create_student is on by
    # default in nbgrader 0.9; --create says so explicitly) and grades every assignment ("*").
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "*", "--create", "--force"],
                          cwd=course, capture_output=True, text=True, env=_environment_with_venv_on_path(),
                          timeout=120 + 2 * SECONDS_PER_RUN * len(made))
    result = Autograded(course, done.returncode, done.stdout + done.stderr)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", make_editions.COURSE_ID) as gradebook:
        for chapter in made:
            assignment = make_editions.assignment_id(chapter)
            for student in (SOLUTIONS, BLANK):
                try:
                    graded = gradebook.find_submission_notebook(chapter.stem, assignment, student)
                except MissingEntry:
                    continue
                result.scores[student, assignment] = (graded.score, graded.max_score)
    return result


def cell_errors(path):
    """(cell, error output) for every error the autograder's run of a notebook left."""
    return [(cell, output) for cell in read(path).cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "error"]


def test_autograder_does_not_crash(autograded):
    errors = [line for line in autograded.log.splitlines() if "| ERROR]" in line or "CRITICAL" in line]
    assert autograded.returncode == 0 and not errors, (
        f"nbgrader autograde exited {autograded.returncode}:\n" + "\n".join(errors or [autograded.log[-4000:]])
    )


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
def test_student_edition_runs_top_to_bottom(autograded, chapter):
    """The student copy runs: its only errors are the graded cells saying "not implemented yet".

    This reuses the autograder's run of the blank copy instead of executing the student edition
    once more: autograde replaces only the locked cells (the graded tests, identical in both
    editions, see test_student_edition_has_no_outputs_and_keeps_the_tests) with the instructor's,
    then executes every cell with errors allowed, which is exactly a student pressing "run all".
    """
    autograded.require(BLANK, chapter)
    problems = []
    for cell, output in cell_errors(autograded.notebook(BLANK, chapter)):
        if not nbgrader_meta(cell).get("grade"):
            problems.append(f"{where(chapter, cell)} is not a graded cell but raised {output.ename}: {output.evalue}")
        elif output.ename != "AssertionError" or NOT_DONE not in output.evalue:
            problems.append(f"{where(chapter, cell)} raised {output.ename}: {output.evalue} "
                            f"(expected introdl.check's AssertionError '... {NOT_DONE} ...')")
    assert not problems, "\n".join(problems)
