"""Book cost: how long it takes to execute every chapter, build the website and run the tests.

Three measurements, none of which writes into the working tree:

* every notebook in book/ executed top to bottom in a fresh kernel, exactly as
  ``scripts/execute_notebooks.py`` does it (its ``execute`` function), but on a copy of book/ in
  a temporary folder, so the stored notebooks are never overwritten;
* the website built as the README says, ``jupyter-book build . -W -n --keep-going``, into a
  temporary folder (``--path-output``);
* the whole test command, ``python -m pytest``, as the README gives it (library tests, every
  notebook under nbval, the book build, the website in a browser when Chromium is installed).

The goals: the whole test command under 3 minutes on a 2-core machine, and no notebook over 20 s.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import Section, Table, load_average, met

REPO = Path(__file__).resolve().parent.parent
GOAL_TEST_COMMAND_S = 180.0
GOAL_NOTEBOOK_S = 20.0


def _execute_function():
    """``execute(path)`` from scripts/execute_notebooks.py (a script, not a package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("execute_notebooks", REPO / "scripts" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.execute


def execute_notebooks():
    """{notebook name: seconds (or the error)} for every book/*.ipynb, each run on a temporary copy."""
    execute = _execute_function()
    saved_environment = dict(os.environ)  # execute() sets PYTHONHASHSEED and unsets MPLBACKEND
    times = {}
    try:
        with tempfile.TemporaryDirectory(prefix="introdl-book-") as tmp:
            copy = Path(tmp) / "book"
            shutil.copytree(REPO / "book", copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            for path in sorted(copy.glob("*.ipynb")):
                start = time.perf_counter()
                try:
                    execute(path)
                    times[path.name] = time.perf_counter() - start
                except Exception as error:  # a chapter that fails still has its time reported
                    times[path.name] = (time.perf_counter() - start, f"{type(error).__name__}: {str(error)[:120]}")
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
    return times


def _command(args, timeout):
    """(seconds, exit code, last lines of output) of a command run in the repository root."""
    start = time.perf_counter()
    try:
        done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        code, output = "timeout", str(expired.stdout or "")
    return time.perf_counter() - start, code, output


def build_site(timeout=1200):
    """(seconds, exit code, output) of the README's build, into a temporary folder."""
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"
    with tempfile.TemporaryDirectory(prefix="introdl-site-") as tmp:
        return _command([jupyter_book, "build", ".", "--path-output", tmp, "-W", "-n", "--keep-going"], timeout)


def run_test_command(timeout=1800, slowest=8):
    """``python -m pytest``, the README's test command, with pytest's ``--durations`` report.

    Returns (seconds, exit code, pytest's summary line, [(seconds, phase, test id)] for the
    ``slowest`` test phases).
    """
    seconds, code, output = _command([sys.executable, "-m", "pytest", "-q", f"--durations={slowest}"], timeout)
    summary = next((line.strip("= ") for line in reversed(output.splitlines())
                    if re.search(r"\b(passed|failed|error|no tests ran)\b", line)), "no summary")
    return seconds, code, summary, slowest_phases(output)


def slowest_phases(output):
    """[(seconds, phase, test id)] from the lines of pytest's "slowest durations" report."""
    found = re.findall(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(.+?)\s*$", output, flags=re.M)
    return [(float(seconds), phase, test) for seconds, phase, test in found]


def run(quick=False):
    section = Section(
        "Book cost: executing the chapters, building the site, running the tests",
        intro=(
            "Wall-clock time of the three things a contributor waits for. Every notebook is "
            "executed in a fresh kernel with `scripts/execute_notebooks.py`'s `execute`, on a "
            "temporary copy of book/; the site is built with `jupyter-book build . -W -n "
            "--keep-going` into a temporary folder; the test command is `python -m pytest`, as in "
            "the README."
        ),
    )
    if quick:
        section.notes.append("Skipped in a `--quick` run (it takes minutes).")
        return section

    notebooks = execute_notebooks()
    load_after_notebooks = load_average()
    table = Table(["notebook", "execution time (s)", "goal", "goal met?"], caption="Executing each chapter")
    seconds = {}
    for name, result in notebooks.items():
        if isinstance(result, tuple):
            seconds[name] = result[0]
            table.add(name, f"{result[0]:.1f} (failed: {result[1]})", f"< {GOAL_NOTEBOOK_S:.0f} s", "failed")
        else:
            seconds[name] = result
            table.add(name, f"{result:.1f}", f"< {GOAL_NOTEBOOK_S:.0f} s", met(result, GOAL_NOTEBOOK_S))
    section.tables.append(table)

    build_seconds, build_code, _ = build_site()
    test_seconds, test_code, test_summary, test_phases = run_test_command()
    slowest = max(seconds, key=seconds.get) if seconds else None
    totals = Table(["what", "time (s)", "result", "goal", "goal met?"], caption="Totals")
    totals.add("all notebooks, one after the other", f"{sum(seconds.values()):.1f}", f"{len(seconds)} notebooks", "", "")
    if slowest:
        totals.add(f"slowest notebook: {slowest}", f"{seconds[slowest]:.1f}", "",
                   f"< {GOAL_NOTEBOOK_S:.0f} s", met(seconds[slowest], GOAL_NOTEBOOK_S))
    totals.add("site build (jupyter-book build . -W -n --keep-going)", f"{build_seconds:.1f}",
               "built" if build_code == 0 else f"exit code {build_code}", "", "")
    totals.add("whole test command (python -m pytest)", f"{test_seconds:.1f}",
               f"{test_summary} (exit code {test_code})", f"< {GOAL_TEST_COMMAND_S:.0f} s",
               met(test_seconds, GOAL_TEST_COMMAND_S))
    section.tables.append(totals)
    if test_phases:
        phases = Table(["test", "phase", "time (s)", "share of the test command"],
                       caption="The slowest parts of the test command (pytest --durations)")
        for seconds_taken, phase, test in test_phases:
            phases.add(test, phase, f"{seconds_taken:.1f}", f"{seconds_taken / test_seconds:.0%}")
        section.tables.append(phases)
    section.notes.append(
        f"Load average (1, 5, 15 min) after the notebooks: {load_after_notebooks}; after the tests: "
        f"{load_average()}, on {os.cpu_count()} cores."
    )
    return section
