"""Grade assignments of this course directory: `python grade.py ch04` (several: `python grade.py ch02 ch04`).

scripts/make_editions.py copies this file into the course directory; run it there.

1. Names: a student's folder submitted/<student>/<assignment>/ that holds one notebook under
   another name (say "04_loss_functions (1).ipynb") gets it renamed to the name the assignment
   expects; a folder without the expected notebook and with several others is reported as not
   graded, with the expected name; other notebooks beside the expected one are named as not graded.
2. Grades: `nbgrader autograde <assignment> --force` (a re-grade replaces earlier grades), then
   `nbgrader export` writes grades.csv.
3. Missing work: the students of the gradebook with no submission for the assignment are listed
   (in grades.csv they have a score of 0, like a blank submission).

Exits with nbgrader's status when autograde fails (its log says which notebook and why).
"""
import os
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent


def nbgrader(*arguments):
    """Run nbgrader from this Python's environment, in the course directory."""
    environment = dict(os.environ)
    # nbgrader runs its environment's `alembic`, found here even when no virtualenv is activated
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    return subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=COURSE, env=environment).returncode


def expected_notebooks(assignment):
    return sorted(path.name for path in (COURSE / "release" / assignment).glob("*.ipynb"))


def normalise_names(assignment):
    """Rename lone notebooks under another name; return messages for folders that cannot be."""
    expected = expected_notebooks(assignment)
    messages = []
    for folder in sorted((COURSE / "submitted").glob(f"*/{assignment}")):
        present = sorted(path.name for path in folder.glob("*.ipynb"))
        unknown = [name for name in present if name not in expected]
        missing = [name for name in expected if name not in present]
        if len(unknown) == 1 and len(missing) == 1:
            (folder / unknown[0]).rename(folder / missing[0])
            print(f"{folder.parent.name}: renamed {unknown[0]!r} to {missing[0]!r}")
        elif missing:
            messages.append(f"NOT GRADED: {folder.parent.name}: expected {', '.join(expected)} in {folder}, "
                            f"found {', '.join(present) or 'no notebook'}: rename it and grade again")
        elif unknown:
            messages.append(f"{folder.parent.name}: graded {', '.join(expected)}; also in {folder} and not "
                            f"graded: {', '.join(unknown)} (if that is the work to grade, rename it and grade again)")
    return messages


def students_without_submission(assignment):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{COURSE / 'gradebook.db'}") as gradebook:
        students = [student.id for student in gradebook.students]
    return [student for student in students if not (COURSE / "submitted" / student / assignment).is_dir()]


def main(assignments):
    if not assignments:
        raise SystemExit(f"usage: python grade.py ch04 [ch05 ...]  (assignments: "
                         f"{', '.join(sorted(p.name for p in (COURSE / 'release').glob('ch*')))})")
    status = 0
    for assignment in assignments:
        if not (COURSE / "release" / assignment).is_dir():
            raise SystemExit(f"no assignment {assignment!r} in {COURSE / 'release'}: run "
                             f"scripts/make_editions.py --chapters {assignment[2:]} first")
        problems = normalise_names(assignment)
        code = nbgrader("autograde", assignment, "--force")
        if code:
            print(f"nbgrader autograde {assignment} exited {code}: see the lines marked [ERROR] above; a "
                  f"notebook it could not read is graded 0 until it is fixed and graded again", file=sys.stderr)
            status = code
        for message in problems:
            print(message)
        missing = students_without_submission(assignment)
        if missing:
            print(f"{assignment}: no submission from {', '.join(missing)} (missing work: their 0 in "
                  f"grades.csv is not a mark)")
    export = nbgrader("export")
    print(f"grades: {COURSE / 'grades.csv'}")
    return status or export


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
