"""Run the benchmarks, print their tables, and write them to benchmarks/results.md.

    python benchmarks/run.py                      # everything (several minutes); writes results.md
    python benchmarks/run.py --quick              # a fast smoke run: small sizes, no book build
    python benchmarks/run.py --only parity,speed  # some of them
    python benchmarks/run.py --quick --output /tmp/results.md

The benchmarks, one file each:

    parity      parity.py          introdl against PyTorch: layers, losses, optimizer trajectories
    speed       training_speed.py  training time against scikit-learn and PyTorch on the CPU
    widgets     widget_latency.py  how fast the explorers answer a slider move
    book        book_cost.py       executing every chapter, building the site, the test command
    gpu         gpu_scaling.py     throughput against batch size on CUDA (needs a GPU)

results.md starts with the machine the figures were measured on (machine.py) and ends with what
was optimised in the library to meet the speed goals (optimisations.md, written by hand, with the
figures measured before and after). Only a full run rewrites benchmarks/results.md, which the
book includes as its appendix; a ``--quick`` or ``--only`` run prints its tables and writes a
file only when given ``--output``. These are measurements, not tests: nothing here fails on a
slow figure.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import book_cost  # the modules next to this script (Python puts a script's folder on the path)
import gpu_scaling
import machine
import parity
import training_speed
import widget_latency
from report import load_average

HERE = Path(__file__).resolve().parent

BENCHMARKS = {  # name -> module with run(quick) -> Section, in the order they run and are written
    "parity": parity,
    "speed": training_speed,
    "widgets": widget_latency,
    "book": book_cost,
    "gpu": gpu_scaling,
}
RESULTS = HERE / "results.md"
OPTIMISATIONS = HERE / "optimisations.md"


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats; skips the book cost")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the Markdown (default: benchmarks/results.md for a full run, "
                             "nowhere otherwise)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    if args.output is None and not args.quick and args.only == list(BENCHMARKS):
        args.output = RESULTS
    return args


def _duration(seconds):
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def document(sections, machine_table, *, quick, seconds):
    """results.md: a title, the machine, one "##" section per benchmark, what was optimised."""
    kind = "a quick smoke run (small sizes, few repeats) of " if quick else ""
    parts = [
        "# Measured results",
        f"These figures come from {kind}`python benchmarks/run.py`, which measured them in "
        f"{_duration(seconds)} on the machine below. Timings depend on that machine and on "
        "what else it was doing (see the load averages); ratios measured side by side in one run "
        "are steadier than absolute times. Run the script again to measure your own computer.",
        "## The machine",
        machine_table.markdown(),
    ]
    parts += [section.markdown(level=2).strip() for section in sections]
    if OPTIMISATIONS.exists():
        parts.append(OPTIMISATIONS.read_text(encoding="utf-8").strip())
    parts.append(f"Load average (1, 5, 15 min) at the end of the run: {load_average()}.")
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    start = time.perf_counter()
    machine_table = machine.describe()
    print(machine_table.markdown(), "\n", flush=True)
    sections = []
    for name in args.only:
        began = time.perf_counter()
        section = BENCHMARKS[name].run(quick=args.quick)
        section.seconds = time.perf_counter() - began
        sections.append(section)
        print(section.markdown(), f"\n({name}: {section.seconds:.0f} s)\n", flush=True)
    text = document(sections, machine_table, quick=args.quick, seconds=time.perf_counter() - start)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return sections, text


if __name__ == "__main__":
    main()
