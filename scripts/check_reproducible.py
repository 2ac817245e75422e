"""Check that the stored outputs of the chapters do not depend on the machine's BLAS.

    python scripts/check_reproducible.py                        # every chapter, every setting
    python scripts/check_reproducible.py --chapters 07 09       # some chapters
    python scripts/check_reproducible.py --kernels Haswell --threads 1
    python scripts/check_reproducible.py --jobs 1               # one notebook at a time

numpy's OpenBLAS picks its matrix-product kernels from the CPU (SkylakeX with AVX-512, Haswell
with AVX2, Sandybridge with AVX, ...) and splits work over threads; both change the last bits of
a sum.  A stored output that depends on those bits passes the tests on one machine and fails on
another.  This script re-executes copies of the chapters (never the files in book/) under every
kernel this CPU can run (OPENBLAS_CORETYPE) and with 1 and 2 BLAS threads, and compares each
cell's outputs with the stored ones the way nbval does:

* streams of one name are joined, and backspaces and carriage returns applied;
* the keys nbval skips are skipped (metadata, traceback, execution_count, the widget-view MIME
  type), and so are images (nbval compares text only);
* every setting runs a snapshot of the chapter taken when the check begins and is compared with
  it, so edits made to book/ meanwhile do not count;
* cells tagged ``nbval-ignore-output`` or ``nbval-skip`` are not compared, nor cells stored
  unexecuted (no outputs, no execution count: new cells waiting for the next re-execution).

It prints a table chapter x setting -> number of differing cells, then each differing cell
with its id and a short diff.  Pictures are not compared by nbval, but a chaotic training run
shows up there first; ``images`` in the table counts the cells whose PNG differs from the same
chapter's first run, so that such plots can be found too (a plot that differs by one pixel
between runs is harmless; read the cell).

It is a maintenance script, not part of the test command: the tests run on the machine as it is.
Run it after every change to a chapter's code or to the library.  It takes about as long as
executing the book once per setting (six settings on a CPU with AVX-512), spread over --jobs
processes.
"""
import argparse
import concurrent.futures
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# OpenBLAS kernel -> the CPU flag it needs (from /proc/cpuinfo).
KERNELS = {"SkylakeX": "avx512f", "Haswell": "avx2", "Sandybridge": "avx"}

# The keys nbval leaves out of its comparison (nbval/plugin.py, IPyNbFile.skip_compare), plus
# the image types it skips unless nbdime is used.
SKIP = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
        "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}
IGNORE_MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "PYTEST_VALIDATE_IGNORE_OUTPUT"}


def ignored(cell):
    """Whether nbval leaves this cell's outputs unchecked (a tag or a comment marker)."""
    tags = {t.upper().replace("-", "_") for t in cell.metadata.get("tags", [])}
    comments = {line.strip().lstrip("#").strip() for line in cell.source.splitlines()
                if line.strip().startswith("#")}
    return bool((tags | comments) & IGNORE_MARKERS)


def cpu_flags():
    """The flags of the first processor in /proc/cpuinfo (an empty set elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def usable_kernels():
    flags = cpu_flags()
    return [kernel for kernel, flag in KERNELS.items() if flag in flags]


# ---------------------------------------------------------------------------------------------
# Comparison, as nbval does it
# ---------------------------------------------------------------------------------------------

def _coalesce_streams(outputs):
    """nbval's coalesce_streams: join streams of one name, apply carriage returns."""
    merged, streams = [], {}
    for output in outputs:
        output = dict(output)
        if output.get("output_type") == "stream":
            if output["name"] in streams:
                streams[output["name"]]["text"] += output["text"]
                continue
            streams[output["name"]] = output
        merged.append(output)
    for output in streams.values():
        # nbval also means to apply backspaces, but its loop never runs (it starts with the two
        # texts equal), so only carriage returns count: the same here.
        output["text"] = re.sub(r"^.*\r(?=[^\n])", "", output["text"], flags=re.MULTILINE)
    return merged


def comparable(outputs):
    """A cell's outputs as nbval compares them: {key: [values]} (text only)."""
    flat = {}
    for output in _coalesce_streams(outputs):
        if output.get("output_type") == "stream":
            output = {output["name"]: output["text"]}
        for key, value in output.items():
            if key in SKIP:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP:
                        flat.setdefault(mime, []).append(_text(data))
            else:
                flat.setdefault(key, []).append(_text(value))
    return flat


def images(outputs):
    """The PNG images of a cell's outputs, in order."""
    return [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]


def pixel_change(first, other):
    """The largest fraction of pixels that differ between two cells' images (1.0 if their number
    or sizes differ)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    if len(first) != len(other):
        return 1.0
    worst = 0.0
    for a, b in zip(first, other):
        a, b = (np.asarray(Image.open(io.BytesIO(base64.b64decode(x))).convert("RGB")) for x in (a, b))
        worst = max(worst, 1.0 if a.shape != b.shape else float(np.mean(np.any(a != b, axis=-1))))
    return worst


VISIBLE = 0.001  # a picture whose pixels differ by more than this fraction differs visibly


def _text(value):
    if isinstance(value, list):
        return "".join(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _shorten(line, width=110):
    # Long base64 runs (the explorers' embedded frames) say nothing to a reader.
    line = re.sub(r"[A-Za-z0-9+/=]{60,}", lambda m: f"<{len(m.group(0))} base64 chars>", line)
    return line if len(line) <= width else line[:width - 3] + "..."


def short_diff(stored, fresh, max_lines=8):
    """A few '-stored' / '+fresh' lines that show how two outputs differ."""
    lines = []
    for key in sorted(set(stored) | set(fresh)):
        a = "\n".join(stored.get(key, [])).splitlines()
        b = "\n".join(fresh.get(key, [])).splitlines()
        if a == b:
            continue
        lines.append(f"[{key}]")
        for line in difflib.unified_diff(a, b, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")):
                continue
            lines.append(_shorten(line))
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return lines


def compare(stored_nb, fresh_nb):
    """[(cell id, diff lines)] of the cells whose text differs, and the ids whose images do."""
    fresh_cells = {cell.get("id"): cell for cell in fresh_nb.cells}
    text, pictures = [], []
    for cell in stored_nb.cells:
        if cell.cell_type != "code":
            continue
        other = fresh_cells.get(cell.get("id"))
        if other is None:
            continue
        unexecuted = cell.get("execution_count") is None and not cell.outputs
        if not ignored(cell) and not unexecuted:
            a, b = comparable(cell.outputs), comparable(other.outputs)
            if a != b:
                text.append((cell.get("id"), short_diff(a, b)))
        if images(cell.outputs) != images(other.outputs):
            pictures.append(cell.get("id"))
    return text, pictures


# ---------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------

def environment(kernel, threads):
    env = dict(os.environ)
    env.update(PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    env.pop("MPLBACKEND", None)
    if kernel is not None:
        env["OPENBLAS_CORETYPE"] = kernel
    return env


def run_one(source, target, timeout):
    """Executed in a child process whose environment carries the setting (the kernel inherits it).
    The kernel's working directory is book/, as for the chapters themselves."""
    from nbclient import NotebookClient

    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}},
                            record_timing=False, allow_errors=True)
    client.execute()
    nbformat.write(notebook, target)


def snapshot(path, workdir):
    """The chapter as stored when the check began: every setting runs it and is compared with it,
    so that an edit made to book/ meanwhile does not count as a difference."""
    return Path(workdir) / f"{path.stem}.stored.ipynb"


def execute(path, kernel, threads, workdir, timeout, reuse=False):
    target = Path(workdir) / f"{path.stem}.{kernel}.{threads}.ipynb"
    if reuse and target.exists():
        return path, kernel, threads, target, None, 0.0
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, __file__, "--run-one", str(snapshot(path, workdir)), str(target), str(timeout)],
        env=environment(kernel, threads), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        return path, kernel, threads, None, process.stderr.strip().splitlines()[-3:], seconds
    return path, kernel, threads, target, None, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="*", default=[],
                        help="chapter numbers or notebook paths (default: every chapter)")
    parser.add_argument("--kernels", nargs="*", default=None,
                        help=f"OpenBLAS kernels (default: those this CPU can run of {list(KERNELS)})")
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2], help="BLAS threads (default: 1 2)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default: 2)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: 600)")
    parser.add_argument("--keep", metavar="DIR", help="keep the executed copies in DIR")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: compare the copies already in DIR instead of executing them again")
    parser.add_argument("--run-one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_one:
        source, target, timeout = args.run_one
        run_one(source, target, int(timeout))
        return 0

    paths = []
    for chapter in args.chapters or ["*"]:
        if chapter.endswith(".ipynb"):
            paths.append(Path(chapter).resolve())
        else:
            paths.extend(sorted(BOOK.glob(f"{chapter}_*.ipynb" if chapter != "*" else "[0-9]*.ipynb")))
    if not paths:
        parser.error(f"no chapter matches {args.chapters}")
    kernels = args.kernels if args.kernels is not None else usable_kernels()
    unusable = [k for k in kernels if k in KERNELS and KERNELS[k] not in cpu_flags()]
    if unusable:
        parser.error(f"this CPU lacks the flags for {unusable}")
    if not kernels:
        kernels = [None]  # not Linux / no flags: the machine's own choice only
    settings = [(k, t) for k in kernels for t in args.threads]
    label = {s: f"{s[0] or 'default'}/{s[1]}t" for s in settings}

    workdir = args.keep or tempfile.mkdtemp(prefix="check_reproducible-")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    print(f"{len(paths)} chapters x {len(settings)} settings "
          f"({', '.join(label.values())}), {args.jobs} at a time; copies in {workdir}", flush=True)

    for path in paths:
        if not (args.reuse and snapshot(path, workdir).exists()):
            shutil.copy(path, snapshot(path, workdir))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(execute, p, k, t, workdir, args.timeout, args.reuse) for p in paths for k, t in settings]
        for future in concurrent.futures.as_completed(futures):
            path, kernel, threads, target, error, seconds = future.result()
            results[path, (kernel, threads)] = (target, error)
            status = "FAILED" if error else "done"
            print(f"  {path.stem} {label[kernel, threads]}: {status} in {seconds:.0f} s", flush=True)

    table, details, first_png, pictures = [], [], {}, {}
    for path in paths:
        stored = nbformat.read(snapshot(path, workdir), as_version=4)
        row = [path.stem]
        for setting in settings:
            target, error = results[path, setting]
            if error:
                row.append("error")
                details.append((path.stem, label[setting], "(execution failed)", error))
                continue
            fresh = nbformat.read(target, as_version=4)
            text, _ = compare(stored, fresh)
            # Pictures of cells nbval ignores (timings) differ from run to run by nature.
            pngs = {c.get("id"): images(c.outputs) for c in fresh.cells if c.cell_type == "code" and not ignored(c)}
            first = first_png.setdefault(path, pngs)
            moved = {cid: pixel_change(first[cid], png) for cid, png in pngs.items()
                     if cid in first and first[cid] != png}
            if moved:
                pictures.setdefault(path.stem, {})[label[setting]] = moved
            visible = sum(1 for share in moved.values() if share > VISIBLE)
            row.append(f"{len(text)}" + (f" ({visible} img)" if visible else ""))
            for cell_id, diff in text:
                details.append((path.stem, label[setting], cell_id, diff))
        table.append(row)

    header = ["chapter"] + [label[s] for s in settings]
    widths = [max(len(str(r[i])) for r in table + [header]) for i in range(len(header))]
    print("\nDiffering text cells (as nbval compares them); '(n img)': cells whose pictures differ "
          f"visibly (more than {VISIBLE:.1%} of their pixels) from this chapter's first setting\n")
    for row in [header] + table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    if details:
        print("\nDetails (- stored, + fresh).  A cell that differs under every setting usually has a "
              "stale stored output (re-execute the chapter); one that differs under some is "
              "rounding-dependent.")
        grouped = {}
        for chapter, setting, cell_id, diff in details:
            grouped.setdefault((chapter, cell_id), []).append((setting, diff))
        for (chapter, cell_id), runs in grouped.items():
            kind = "every setting" if len(runs) == len(settings) else ", ".join(s for s, _ in runs)
            print(f"\n{chapter}  cell {cell_id}  differs under: {kind}")
            shown = []
            for setting, diff in runs:
                if diff in shown:
                    continue
                shown.append(diff)
                print(f"  {setting}:")
                for line in diff:
                    print(f"    {line}")
    if pictures:
        print(f"\nPictures that differ from {label[settings[0]]} (share of pixels; a chaotic run shows "
              f"here first; above {VISIBLE:.1%} counts as visible in the table):")
        for chapter, by_setting in pictures.items():
            for setting, moved in by_setting.items():
                cells = ", ".join(f"{cid} {share:.3%}" for cid, share in moved.items())
                print(f"    {chapter}  {setting}: {cells}")
    differing = len(details)
    print(f"\n{differing} differing cell(s) in all.")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
