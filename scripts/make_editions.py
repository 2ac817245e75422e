"""Make the course editions of the book: a student copy and an instructor copy of every chapter.

    python scripts/make_editions.py                     # every chapter, into editions/
    python scripts/make_editions.py --chapters 01 07    # only chapters 1 and 7
    python scripts/make_editions.py --out /tmp/course   # somewhere else

The student copies come from nbgrader's own ``generate_assignment`` (not an imitation of it), run
over a course directory that this script writes::

    editions/
      nbgrader/                          a ready nbgrader course directory
        nbgrader_config.py               written once, then yours: loads the book's settings
        introdl_nbgrader_defaults.py     the book's settings (rewritten every run): course id
                                         "introdl", root = this folder, sqlite gradebook,
                                         deleted test cells put back, grading outside the
                                         student's kernel (introdl.grading)
        grading_seed                     the course's hidden seed for the grading inputs
                                         (random, written once; in no student notebook)
        grade.py                         `python grade.py ch04`: names, autograde, grades.csv
        gradebook.db
        source/ch01/01_perceptron.ipynb  the chapter as in book/: solutions and outputs
        release/ch01/01_perceptron.ipynb nbgrader's student version
      student/01_perceptron.ipynb        = release: each solution replaced by
                                           `raise NotImplementedError()`, outputs cleared,
                                           the graded test cells kept and locked
      instructor/01_perceptron.ipynb     = source: solutions and outputs

Each chapter is its own nbgrader assignment (ch01, ch02, ...), not one assignment for the whole
book: a course hands out a chapter a week, with its own deadline, and the gradebook then scores
each week separately. A teacher who wants several chapters in one assignment can move notebooks
into one folder under source/ and run ``nbgrader generate_assignment`` again.

The course directory is relocatable (its config finds the root next to itself), so a teacher can
copy editions/nbgrader/ and run ``nbgrader autograde`` there. The editions are output: running
the script again regenerates the chapters it is asked for and leaves the others in place.
"""
import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"
COURSE_ID = "introdl"

# The book's nbgrader settings live in their own file, rewritten by every run; nbgrader_config.py
# only loads it, and is written once: a teacher's own settings there are kept.
BOOK_CONFIG_NAME = "introdl_nbgrader_defaults.py"
SEED_FILE = "grading_seed"   # the course's hidden seed for the grading inputs
BOOK_CONFIG = '''\
"""The book's nbgrader settings (rewritten by scripts/make_editions.py: change settings in
nbgrader_config.py instead, which loads this file first and may override anything below)."""
import os

c = get_config()  # noqa: F821 (nbgrader provides it)

# The course root is the folder holding this file, so the folder can be copied anywhere.
root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = root
c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "gradebook.db")

# A graded test cell that a student deleted is put back before grading, so one deleted cell
# costs that exercise alone. (Changed locked cells are always put back by nbgrader.)
c.OverwriteCells.add_missing_cells = True

# Marks are decided outside the student's kernel: instead of executing the notebook, each graded
# cell's exercise is run in a sandboxed Python on inputs drawn from this course's hidden seed
# (introdl.grading). Solution cells that use exec, open, os, ... are flagged for manual grading.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from introdl.grading import FlagForManualGrading, GradeOutsideKernel

c.Autograde.autograde_preprocessors = [
    GradeOutsideKernel, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    FlagForManualGrading, AssignLatePenalties, CheckCellMetadata,
]
c.GradeOutsideKernel.seed_file = os.path.join(root, "{seed_file}")
'''
TEACHER_CONFIG = '''\
"""nbgrader configuration of this course directory.

scripts/make_editions.py wrote this file once and will not change it again. The book's settings are
in {defaults} (rewritten by every run); they are loaded first, so a setting below overrides them,
for example:

    c.LimitOutput.max_lines = 200
"""
c = get_config()  # noqa: F821 (nbgrader provides it)
load_subconfig("{defaults}")  # noqa: F821 (nbgrader provides it)

# Your own settings:
'''

# The first line of the nbgrader_config.py that earlier versions of this script rewrote on every
# run: such a file holds no teacher's settings and is replaced.
OLD_GENERATED_CONFIG = '"""nbgrader configuration for the book\'s course directory (written by scripts/make_editions.py)."""'


def chapters(selection=()):
    """The chapter notebooks in book/, in order, optionally only those numbered in ``selection``.

    selection: chapter numbers as strings ("01", "7"). Any notebook named NN_*.ipynb is a
    chapter, so chapters added later are picked up without changing this script.
    """
    found = {int(path.name[:2]): path for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))}
    if not selection:
        return list(found.values())
    if not all(number.isdigit() for number in selection):
        raise SystemExit(f"--chapters takes chapter numbers such as 01 or 7, got {' '.join(selection)}")
    wanted = [int(number) for number in selection]
    missing = [number for number in wanted if number not in found]
    if missing:
        raise SystemExit(f"no chapter notebook book/{missing[0]:02d}_*.ipynb (found: "
                         f"{', '.join(f'{n:02d}' for n in found)})")
    return [found[number] for number in sorted(set(wanted))]


def assignment_id(notebook):
    """The nbgrader assignment of a chapter: book/07_learning_rate.ipynb -> "ch07"."""
    return f"ch{notebook.name[:2]}"


def write_course_directory(course, notebooks):
    """Write the book's nbgrader settings, nbgrader_config.py (only if there is none: a teacher's
    own file is kept) and source/<assignment>/<notebook>.ipynb for each chapter."""
    course.mkdir(parents=True, exist_ok=True)
    (course / BOOK_CONFIG_NAME).write_text(BOOK_CONFIG.format(course_id=COURSE_ID, seed_file=SEED_FILE))
    seed = course / SEED_FILE
    if not seed.exists():  # random per course, written once: re-grading meets the same inputs
        seed.write_text(f"{secrets.randbits(63)}\n")
    shutil.copyfile(REPO / "scripts" / "grade.py", course / "grade.py")
    teacher = course / "nbgrader_config.py"
    if not teacher.exists() or teacher.read_text().startswith(OLD_GENERATED_CONFIG):
        teacher.write_text(TEACHER_CONFIG.format(defaults=BOOK_CONFIG_NAME))
    for notebook in notebooks:
        folder = course / "source" / assignment_id(notebook)
        # Start the assignment afresh, so a chapter renamed in book/ leaves no stale copy that
        # nbgrader would release as a second notebook.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / notebook.name)


def generate_assignments(course, notebooks):
    """Run nbgrader's generate_assignment for each chapter.

    Returns ({notebook: (graded cells, points)}, {notebook: nbgrader's error}). One chapter whose
    markup nbgrader rejects does not stop the others. One process runs them all through
    ``NbGraderAPI``: starting the nbgrader command once per chapter costs seconds each. The
    counts come from nbgrader's gradebook, so they are what nbgrader itself will grade.
    """
    # Imported here so that `--help` and argument errors do not pay nbgrader's import time.
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    summary, failures = {}, {}
    for notebook in notebooks:
        result = api.generate_assignment(assignment_id(notebook), force=True, create=True)
        if not result["success"]:
            failures[notebook] = f"{result.get('log', '')}\n{result['error']}".strip()
            continue
        with Gradebook(api.coursedir.db_url, COURSE_ID) as gradebook:
            graded = gradebook.find_notebook(notebook.stem, assignment_id(notebook))
            summary[notebook] = (len(graded.grade_cells), graded.max_score)
    return summary, failures


def make_editions(out, selection=()):
    """Write the nbgrader course directory and the two editions under ``out``.

    Returns what ``generate_assignments`` returns; chapters that failed get no edition.
    """
    notebooks = chapters(selection)
    course = out / "nbgrader"
    write_course_directory(course, notebooks)
    summary, failures = generate_assignments(course, notebooks)
    for edition in ("student", "instructor"):
        (out / edition).mkdir(parents=True, exist_ok=True)
    for notebook in summary:
        release = course / "release" / assignment_id(notebook) / notebook.name
        shutil.copyfile(release, out / "student" / notebook.name)
        # from the copy nbgrader was given, so a chapter edited meanwhile cannot make the two differ
        shutil.copyfile(course / "source" / assignment_id(notebook) / notebook.name,
                        out / "instructor" / notebook.name)
    return summary, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "editions",
                        help="folder to write into (default: editions/ in the repository)")
    parser.add_argument("--chapters", nargs="+", default=(), metavar="NN",
                        help="chapter numbers to include, e.g. 01 07 (default: all)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    # nbgrader sets up its gradebook by running the `alembic` command of its own environment;
    # with that environment's bin/ first on PATH it is found even when the venv is not activated.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    summary, failures = make_editions(out, args.chapters)

    print(f"student edition:    {out / 'student'}")
    print(f"instructor edition: {out / 'instructor'}")
    print(f"nbgrader course:    {out / 'nbgrader'}  (one assignment per chapter)")
    for notebook, (cells, points) in summary.items():
        print(f"  {assignment_id(notebook)}  {notebook.name:<34} {cells} graded cells, {points:g} points")
    total = sum(points for _, points in summary.values())
    print(f"  {len(summary)} chapters, {total:g} points in all")
    for notebook, error in failures.items():
        print(f"\nnbgrader generate_assignment {assignment_id(notebook)} ({notebook.name}) failed:\n"
              f"{error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
