"""Re-execute the book's notebooks in place, deterministically.

    python scripts/execute_notebooks.py                 # every notebook in book/
    python scripts/execute_notebooks.py book/07_*.ipynb # some of them

Each notebook runs top to bottom in a fresh kernel with its folder as working directory.
Timing metadata is not recorded, so running twice stores identical outputs.  This machine's
outputs must also be every machine's: after changing a chapter or the library, run
scripts/check_reproducible.py, which re-executes copies under every BLAS kernel and thread count.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from introdl.widgets.saving import drop_lost_widget_views

BOOK = Path(__file__).resolve().parent.parent / "book"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def execute(path, timeout=600):
    notebook = nbformat.read(path, as_version=4)
    # The same environment every run: no GPU-dependent hash seeds, a fixed plotting backend.
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.pop("MPLBACKEND", None)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    client.execute()
    # Live widget state is not reproducible and is not stored, so a stored widget view would
    # show "model not found" in JupyterLab; keep the outputs' other views (the explorers' static
    # twin in text/html, which needs no kernel) and drop the widget view, as the save hook
    # does for a reader (introdl.widgets.saving).
    notebook.metadata.pop("widgets", None)
    drop_lost_widget_views(notebook)
    # The kernelspec exactly as Jupyter writes it, so that opening or trusting a chapter in
    # JupyterLab or Notebook does not rewrite the file.
    notebook.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(notebook, path)


def main(argv):
    paths = [Path(p).resolve() for p in argv] or sorted(BOOK.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        execute(path)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
