"""Tables and sections: what every benchmark returns, and how it becomes Markdown.

A benchmark module has one entry point, ``run(quick=False) -> Section``. A ``Section`` holds a
title, a paragraph that says what was measured and how, one or more ``Table``s and notes.
``benchmarks/run.py`` prints each section as it finishes and writes them all to
``benchmarks/results.md``, which the book includes as an appendix (with its headings moved one
level down: this file's "##" becomes the page's "###").

The Markdown is MyST-safe: no "$" (the book enables dollar maths), no raw HTML, and "|" inside
a cell is escaped.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Table:
    """A Markdown table: a header row and rows of cells (anything; ``str()`` is applied)."""

    columns: list
    rows: list = field(default_factory=list)
    caption: str = ""  # an optional bold line above the table

    def add(self, *cells):
        if len(cells) != len(self.columns):
            raise ValueError(f"a row needs {len(self.columns)} cells, got {len(cells)}: {cells}")
        self.rows.append([str(cell) for cell in cells])

    def markdown(self):
        def line(cells):
            # One line per row: a line break would end the table, a bare "|" would add a column.
            return "| " + " | ".join(" ".join(str(c).split()).replace("|", "\\|") for c in cells) + " |"

        out = [f"**{self.caption}**", ""] if self.caption else []
        out += [line(self.columns), line(["---"] * len(self.columns))]
        out += [line(row) for row in self.rows]
        return "\n".join(out)


@dataclass
class Section:
    """One benchmark's results: a title, what was measured, tables, and closing notes."""

    title: str
    intro: str = ""
    tables: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0  # how long the benchmark took to run

    def markdown(self, level=2):
        hashes = "#" * level
        parts = [f"{hashes} {self.title}"]
        if self.intro:
            parts.append(self.intro.strip())
        parts += [table.markdown() for table in self.tables]
        parts += [note.strip() for note in self.notes]
        return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- timing helpers
def timed(function, *args, **kwargs):
    """Call ``function`` once; return (seconds, its result). Wall-clock time (``perf_counter``)."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def median(values):
    return statistics.median(values)


def percentile(values, q):
    """The q-th percentile (0–100) by linear interpolation between the sorted values."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@contextlib.contextmanager
def torch_threads(n):
    """Run the block with ``torch.set_num_threads(n)``, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def load_average():
    """The 1-, 5- and 15-minute load averages as text ("6.13 6.97 5.58"), or "n/a" off Linux."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def met(value, goal):
    """'met' or 'not met' for 'value ≤ goal'."""
    return "met" if value <= goal else "not met"


def sci(x):
    """A relative difference for a table: '3.1e-16', or '0' when exactly equal."""
    return "0" if x == 0 else f"{x:.1e}"
