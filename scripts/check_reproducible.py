"""Check that the stored outputs of the chapters do not depend on the machine's BLAS: nbval, run
under every OpenBLAS kernel this CPU supports and with 1 and 2 BLAS threads.

    python scripts/check_reproducible.py                    # every chapter, every setting
    python scripts/check_reproducible.py --chapters 07 09   # some chapters

numpy's OpenBLAS picks its matrix-product kernels from the CPU (SkylakeX needs AVX-512, Haswell
AVX2, Sandybridge AVX; OPENBLAS_CORETYPE chooses one) and splits work over threads; both change
the last bits of a sum. A stored output that depends on those bits passes the tests on one
machine and fails on another. For each setting this script runs the test command's notebook check,
``pytest --nbval --nbval-current-env``, on a copy of book/ taken when it starts (edits made to
book/ meanwhile do not count), and prints a table, chapter x setting: "pass", or the ids of the
cells whose outputs differ or that fail, read from pytest's JUnit XML report.

It is a maintenance script, not part of the test command: run it after changing a chapter's code
or the library (scripts/refresh_lock.py runs it after changing the locks). Every entry must read
"pass". A printed number that changes depends on the last bits of rounding: print it rounded to
what is robust, or print a fact that holds under perturbation.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
KERNELS = {"SkylakeX": "avx512f", "Haswell": "avx2", "Sandybridge": "avx"}  # -> the CPU flag it needs


def usable_kernels():
    """The OpenBLAS kernels whose instructions this CPU has (/proc/cpuinfo's flags)."""
    try:
        flags = set(re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M).group(1).split())
    except (OSError, AttributeError):
        return []
    return [kernel for kernel, flag in KERNELS.items() if flag in flags]


def code_cell_ids(notebook: Path) -> list[str]:
    """The ids of the notebook's code cells: nbval's "Cell N" is the N-th of them."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [cell.get("id", "?") for cell in cells if cell["cell_type"] == "code"]


def run_nbval(copy: Path, notebooks: list[Path], kernel: str, threads: int, jobs: int) -> dict:
    """Run nbval on the copies under one setting; return {notebook name: [failing cell ids]}."""
    report = copy / f"junit-{kernel}-{threads}.xml"
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONHASHSEED="0")
    env.pop("MPLBACKEND", None)
    subprocess.run([sys.executable, "-m", "pytest", "-c", str(copy / "pytest.ini"), "--rootdir", str(copy),
                    "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", "-n", str(jobs),
                    "--dist", "loadfile", "-q", "--junitxml", str(report), *map(str, notebooks)],
                   env=env, cwd=copy, stdout=subprocess.DEVNULL, check=False)
    failing = {notebook.name: [] for notebook in notebooks}
    ids = {notebook.name: code_cell_ids(notebook) for notebook in notebooks}
    if not report.exists():
        raise SystemExit(f"check_reproducible: pytest wrote no report under {kernel}, {threads} thread(s)")
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        # classname "book.01_perceptron.ipynb", name "Cell 3" (pytest's JUnit report)
        name = case.get("classname", "").removesuffix(".ipynb").split(".")[-1] + ".ipynb"
        cell = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        number = int(cell.group(1)) if cell else None
        failing.setdefault(name, []).append(ids[name][number] if name in ids and number is not None
                                            else case.get("name", "?"))
    return failing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="*", default=[], help="chapter numbers, e.g. 07 11 (default: all)")
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2], help="BLAS threads (default: 1 2)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default: 2)")
    args = parser.parse_args(argv)
    kernels = usable_kernels()
    if not kernels:
        raise SystemExit("check_reproducible: this CPU reports none of AVX, AVX2, AVX-512 (/proc/cpuinfo)")
    with tempfile.TemporaryDirectory(prefix="introdl-reproducible-") as folder:
        copy = Path(folder)
        shutil.copytree(BOOK, copy / "book", ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        (copy / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        notebooks = sorted((copy / "book").glob("[0-9][0-9]_*.ipynb"))
        if args.chapters:
            notebooks = [n for n in notebooks if n.name[:2] in {c.zfill(2) for c in args.chapters}]
        settings = [(kernel, threads) for kernel in kernels for threads in args.threads]
        results = {}
        for kernel, threads in settings:
            results[kernel, threads] = run_nbval(copy, notebooks, kernel, threads, args.jobs)
            print(f"{kernel}, {threads} thread(s): done", flush=True)
    columns = [f"{kernel} {threads}t" for kernel, threads in settings]
    print("\n| chapter | " + " | ".join(columns) + " |\n" + "|---" * (len(columns) + 1) + "|")
    for notebook in notebooks:
        cells = [", ".join(results[s].get(notebook.name, [])) or "pass" for s in settings]
        print(f"| {notebook.stem} | " + " | ".join(cells) + " |")
    clean = all(not cells for result in results.values() for cells in result.values())
    print("\nevery chapter passes under every setting" if clean else
          "\nthe cells named above differ from their stored outputs (or fail) under that setting:"
          " run pytest --nbval on the chapter with that setting's OPENBLAS_CORETYPE and threads to see how")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
