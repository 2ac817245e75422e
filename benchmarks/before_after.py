"""Training speed of two versions of introdl side by side, with scikit-learn and PyTorch in the same loop.

    python benchmarks/before_after.py --before e75cb6a            # that commit against the working tree
    python benchmarks/before_after.py --before e75cb6a --repeats 7 --output /tmp/before_after.md

The work is training_speed.py's (the digits, 64 → hidden → 10, ReLU, cross-entropy, Adam with
lr 1e-3, float64, 30 epochs). The older library is taken from git (``git archive <commit>
lib/introdl``) into a temporary folder and imported under the name ``introdl_before`` (the
library imports itself only relatively, so the renamed copy is self-contained); the newer one is
the ``introdl`` on the path. Every contender runs once per round, rounds are repeated, and the
medians are compared, so that all of them share the machine's load. This is how a change to the
library is shown not to slow training down (benchmarks/optimisations.md records the results).
"""
from __future__ import annotations

import argparse
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import introdl  # noqa: E402
import training_speed  # noqa: E402
from report import Section, Table, load_average, median, timed  # noqa: E402


def import_version(commit, folder):
    """The library as it was at ``commit``, imported as the package ``introdl_before``."""
    archive = subprocess.run(["git", "archive", commit, "lib/introdl"], cwd=HERE.parent,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    shutil.move(Path(folder) / "lib" / "introdl", Path(folder) / "introdl_before")
    sys.path.insert(0, str(folder))
    return importlib.import_module("introdl_before")


def runner_for(library):
    """training_speed.run_introdl, for any version of the library."""
    def run(split, *, hidden, batch_size, epochs, seed=0):
        X_train, X_test, y_train, y_test = split
        rng = np.random.default_rng(seed)
        nn, optim, train = library.nn, library.optim, library.train
        model = nn.Sequential(nn.Linear(64, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, 10, rng=rng))
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        seconds, _ = timed(train.fit, model, nn.CrossEntropyLoss(), optimizer, X_train, y_train,
                           epochs=epochs, batch_size=batch_size, rng=np.random.default_rng(seed))
        return seconds, train.accuracy(model, X_test, y_test, outputs="logits"), model
    return run


def measure(before, case, repeats, split, settings=("default", "1")):
    runners = {}
    for name, runner in [("introdl before", runner_for(before)), ("introdl after", runner_for(introdl)),
                         ("scikit-learn", training_speed.run_sklearn)]:
        if "default" in settings:
            runners[(name, "default")] = runner
        if "1" in settings:
            runners[(name, "1")] = training_speed.one_thread(runner)
    runners[("PyTorch", "1")] = training_speed.one_thread(training_speed.run_torch)
    for runner in runners.values():  # warm-up
        runner(split, **dict(case, epochs=1))
    times = {key: [] for key in runners}
    for _ in range(repeats):
        for key, runner in runners.items():
            time.sleep(training_speed.PAUSE_S)
            times[key].append(runner(split, **case)[0])
    return times


def run(before_commit, repeats, cases=tuple(training_speed.CASES), settings=("default", "1")):
    split = training_speed.digits_split()
    with tempfile.TemporaryDirectory() as folder:
        before = import_version(before_commit, folder)
        section = Section(
            f"introdl at {before_commit} against introdl now",
            intro=(f"training_speed.py's work, both libraries and both baselines in one loop, {repeats} "
                   "rounds, medians in seconds; \"1\" is one BLAS thread (threadpoolctl), \"default\" "
                   "the library's default thread count. The ratio to scikit-learn takes each at its "
                   "faster thread setting."),
        )
        table = Table(["case", "contender", "threads", "median (s)", "all runs (s)"], caption="Time to train")
        ratios = Table(["case", "before / scikit-learn", "after / scikit-learn", "after / before",
                        "after / PyTorch (1 thread)"], caption="Ratios (each at its faster thread setting)")
        loads = []
        for case_name in cases:
            times = measure(before, training_speed.CASES[case_name], repeats, split, settings)
            loads.append(load_average())
            for (name, threads), values in times.items():
                table.add(case_name, name, threads, f"{median(values):.3f}", ", ".join(f"{t:.2f}" for t in values))
            best = {name: min(median(v) for (n, _), v in times.items() if n == name)
                    for name in ("introdl before", "introdl after", "scikit-learn", "PyTorch")}
            ratios.add(case_name, f"{best['introdl before'] / best['scikit-learn']:.2f}×",
                       f"{best['introdl after'] / best['scikit-learn']:.2f}×",
                       f"{best['introdl after'] / best['introdl before']:.2f}×",
                       f"{best['introdl after'] / best['PyTorch']:.2f}×")
        section.tables += [table, ratios]
        section.notes.append("Load average after each case (1, 5, 15 min): " + "; ".join(loads) + ".")
    return section


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the git commit of the older library")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", default=",".join(training_speed.CASES),
                        help="comma-separated, of: " + ", ".join(training_speed.CASES))
    parser.add_argument("--threads", default="default,1",
                        help='"default", "1" or both (comma-separated): the thread settings to run')
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    text = run(args.before, args.repeats, cases=args.cases.split(","),
               settings=tuple(args.threads.split(","))).markdown()
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
