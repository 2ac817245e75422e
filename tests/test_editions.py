"""The exercises work as course assignments, through the real nbgrader.

Three layers, cheapest first:

* markup: every chapter (any ``book/NN_*.ipynb``, so new chapters are covered as they appear)
  has 2–4 graded exercises whose nbgrader metadata is right, solution cells carry the website's
  ``hide-input`` tag and graded test cells are locked; a graded cell is one
  ``check_exercise(...)`` line whose spec is in ``introdl.exercises``; the chapter's own cells
  never call a function a student writes (so the student edition runs top to bottom);
* editions: ``scripts/make_editions.py`` (which runs nbgrader's ``generate_assignment``) runs
  once per session; the student edition has no solution left, no outputs, and the tests kept;
  a teacher's own ``nbgrader_config.py`` is kept;
* grading: every exercise of every chapter graded outside the kernel (introdl.grading) on the
  instructor's solutions (full marks) and on the student copy (zero); the simulated class graded
  through the real nbgrader is in tests/test_grading.py.

nbgrader always runs in a subprocess: it emits warnings (SQLAlchemy's SAWarning from its own
gradebook code, ipykernel's "running over TCP without encryption") that this project's
``filterwarnings = error`` would otherwise turn into failures, and its logging stays out of the
test output unless a test fails and shows it.
"""
import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_editions.py"
CHAPTERS = sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))
IDS = [path.stem for path in CHAPTERS]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOT_DONE = "not implemented yet"  # what introdl.check says when it meets NotImplementedError

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


# --- graded cells: one self-check line each, the spec in introdl.exercises -----------------------


@by_chapter
def test_graded_cells_call_check_exercise_with_their_spec(chapter):
    """A graded cell is `check_exercise("<exercise id>", <function>)`: no inputs, seed or reference
    in the notebook; its spec names the function a solution cell defines, and gives the same points."""
    from introdl import exercises

    notebook = read(chapter)
    defined = {name for cell in solution_cells(notebook) for name in re.findall(r"^def (\w+)", cell.source, re.M)}
    for cell in graded_cells(notebook):
        exercise_id = nbgrader_meta(cell)["grade_id"].removesuffix("-test")
        spec = exercises.get(exercise_id)
        assert cell.source == (f'from introdl.check import check_exercise\n\n'
                               f'check_exercise("{exercise_id}", {spec.function})'), where(chapter, cell)
        assert spec.function in defined, f"{where(chapter, cell)}: no solution cell defines {spec.function}"
        assert spec.points == nbgrader_meta(cell)["points"], where(chapter, cell)


def test_every_exercise_spec_has_its_graded_cell_and_its_own_seed():
    from introdl import exercises

    cells = {nbgrader_meta(cell)["grade_id"] for chapter in CHAPTERS for cell in graded_cells(read(chapter))}
    assert {spec.grade_id for spec in exercises.EXERCISES.values()} == cells
    seeds = [spec.seed for spec in exercises.EXERCISES.values()]
    assert len(seeds) == len(set(seeds)), "two exercises share a public seed"


def test_a_teachers_nbgrader_config_is_kept(tmp_path):
    course = tmp_path / "nbgrader"
    course.mkdir()
    mine = 'c = get_config()\nload_subconfig("introdl_nbgrader_defaults.py")\nc.Execute.timeout = 7\n'
    (course / "nbgrader_config.py").write_text(mine)
    make_editions.write_course_directory(course, [])
    assert (course / "nbgrader_config.py").read_text() == mine
    defaults = (course / make_editions.BOOK_CONFIG_NAME).read_text()
    assert "c.OverwriteCells.add_missing_cells = True" in defaults
    assert (course / make_editions.SEED_FILE).read_text().strip().isdigit()
    assert (course / "grade.py").exists()


def test_a_config_written_by_old_versions_is_replaced_and_loads_the_defaults(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    course = tmp_path / "nbgrader"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(make_editions.OLD_GENERATED_CONFIG + "\nc = get_config()\n")
    make_editions.write_course_directory(course, [])
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert config.CourseDirectory.root == str(course)
    assert config.OverwriteCells.add_missing_cells is True
    from introdl.grading import FlagForManualGrading, GradeOutsideKernel
    from nbgrader.preprocessors import Execute, SaveAutoGrades
    steps = config.Autograde.autograde_preprocessors
    assert GradeOutsideKernel in steps and Execute not in steps
    assert steps.index(SaveAutoGrades) < steps.index(FlagForManualGrading)
    assert config.GradeOutsideKernel.seed_file == str(course / make_editions.SEED_FILE)


def test_the_hidden_seed_is_random_per_course_and_kept(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for course in (first, second):
        make_editions.write_course_directory(course, [])
    seed = (first / make_editions.SEED_FILE).read_text()
    assert seed != (second / make_editions.SEED_FILE).read_text()
    make_editions.write_course_directory(first, [])
    assert (first / make_editions.SEED_FILE).read_text() == seed


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


# --- grading: every chapter's solutions earn full marks outside the kernel ---------------------
#
# The simulated class, graded through nbgrader, is in tests/test_grading.py; here every exercise of
# every chapter is graded (introdl.grading.grade_exercise, the function nbgrader's preprocessor
# calls) on the instructor's solution cells and on the student edition's.

EXERCISES_HEADING = re.compile(r"^## Exercises", re.M)


def exercises_start(notebook):
    """The index of the Markdown cell holding the chapter's "## Exercises" heading."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source):
            return index
    raise AssertionError("no '## Exercises' heading")


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


@by_chapter
def test_solutions_get_full_marks_and_the_blank_copy_zero(editions, chapter):
    from introdl import exercises
    from introdl.grading import grade_exercise, scan

    editions.require(chapter)
    assert scan([cell.source for cell in solution_cells(read(editions.source(chapter)))]) == [], (
        f"{chapter.name}: the book's own solutions would be flagged for manual grading")
    failures = []
    for edition, fair in ((editions.source(chapter), "full"), (editions.student(chapter), "zero")):
        notebook = read(edition)
        sources = [cell.source for cell in solution_cells(notebook)]
        for cell in graded_cells(notebook):
            spec = exercises.get(nbgrader_meta(cell)["grade_id"].removesuffix("-test"))
            earned, text, _ = grade_exercise(spec, sources, hidden_seed=20261206)
            if earned != (spec.points if fair == "full" else 0) or (fair == "zero" and NOT_DONE not in text):
                failures.append(f"{where(chapter, cell)} ({fair}): {earned:g} of {spec.points:g}\n{text}")
    assert not failures, "\n\n".join(failures)


def test_the_student_site_has_no_solutions_and_no_launch_buttons_into_the_book(tmp_path):
    """scripts/build_student_site.py's sources (the build itself is the author's command)."""
    spec = importlib.util.spec_from_file_location("build_student_site", REPO / "scripts" / "build_student_site.py")
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    site.write_source(tmp_path / "source", "", "main")
    text = "\n".join(path.read_text() for path in (tmp_path / "source" / "book").glob("[0-9][0-9]_*.ipynb"))
    hidden = site.solution_lines()
    assert hidden and not [line for line in hidden if line in text]
    assert "raise NotImplementedError()" in text and BEGIN not in text
    config = (tmp_path / "source" / "_config.yml").read_text()
    assert 'binderhub_url: ""' in config and 'colab_url: ""' in config
