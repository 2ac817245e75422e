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

4. Manual grading: the students whose submission has a cell flagged for manual grading are listed
   (until it is graded by hand, grades.csv counts that cell as 0).

A submitted notebook that cannot be read (cut short, not JSON) is left out of autograde and named
as not graded. Exits with 1 then, or with nbgrader's status when autograde fails (its log says
which notebook and why).
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


def unreadable_notebooks(assignment):
    """{student: message} for each submission whose notebook cannot be read as a notebook (cut
    short, not JSON): autograde would stop on it, so it is left out and named instead."""
    import nbformat
    found = {}
    for folder in sorted((COURSE / "submitted").glob(f"*/{assignment}")):
        for name in expected_notebooks(assignment):
            path = folder / name
            if not path.exists():
                continue
            try:
                nbformat.read(path, as_version=4)
            except Exception as err:  # noqa: BLE001 (whatever nbformat raises, the file is unusable)
                cause = err.__cause__ or err  # nbformat's NotJSONError wraps json's message, which says where
                reason = f"{type(cause).__name__}: {str(cause).strip()[:200]}"
                found[folder.parent.name] = (f"NOT GRADED: {folder.parent.name}: {path} is not a notebook that "
                                             f"can be read ({reason}): repair it or ask for it again, then grade again")
    return found


def students_needing_manual_grade(assignment):
    """Students whose submission has a grade that needs grading by hand (flagged by the scan)."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{COURSE / 'gradebook.db'}") as gradebook:
        try:
            submissions = gradebook.assignment_submissions(assignment)
        except Exception:  # noqa: BLE001 (no such assignment in the gradebook yet)
            return []
        return sorted(submission.student.id for submission in submissions if submission.needs_manual_grade)


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
        unreadable = unreadable_notebooks(assignment)
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(unreadable)}"] if unreadable else []
        code = nbgrader("autograde", assignment, "--force", *exclude)
        if code:
            print(f"nbgrader autograde {assignment} exited {code}: see the lines marked [ERROR] above; a "
                  f"notebook it could not grade is graded 0 until it is fixed and graded again", file=sys.stderr)
            status = code
        for message in problems + list(unreadable.values()):
            print(message)
        status = status or (1 if unreadable else 0)
        manual = [student for student in students_needing_manual_grade(assignment) if student not in unreadable]
        if manual:
            print(f"{assignment}: to grade by hand in the formgrader, from {', '.join(manual)} (their score in "
                  f"grades.csv counts no flagged cell until you grade it)")
        missing = students_without_submission(assignment)
        if missing:
            print(f"{assignment}: no submission from {', '.join(missing)} (missing work: their 0 in "
                  f"grades.csv is not a mark)")
    export = nbgrader("export")
    print(f"grades: {COURSE / 'grades.csv'}")
    return status or export


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
