"""Write the setup cell of every chapter from _config.yml (the book's repository and branch).

    python scripts/sync_setup_cells.py            # insert or update the cell in every chapter
    python scripts/sync_setup_cells.py --check    # only report chapters that are out of step

Every chapter's first code cell is the same setup cell.  On Google Colab it installs the book's
library, introdl, from the repository and branch named in _config.yml (``repository.url`` and
``repository.branch``: the one place the address lives); anywhere else (a computer with the
book's requirements, Binder, nbval, nbgrader) it does nothing.  The environment variable
INTRODL_SOURCE, when set, replaces the address (any pip requirement: a folder, a wheel, a git
URL); the tests use it to install from the local checkout without a network.

The cell is found by its id ("colab-setup"), never by its position; a new one is inserted
just before the chapter's first code cell.  Nothing else in the notebook changes.
"""
import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CELL_ID = "colab-setup"

TEMPLATE = '''\
# Setup. On Google Colab this cell installs the book's library, introdl, from the book's
# repository; anywhere else (your computer, Binder, a grader) it does nothing.
# (Written by scripts/sync_setup_cells.py from _config.yml.)
import os, subprocess, sys

try:
    import google.colab  # exists on Colab only
except ImportError:
    pass
else:
    source = os.environ.get("INTRODL_SOURCE", "git+{url}@{branch}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    print("introdl installed from", source)'''


def repository(config=ROOT / "_config.yml"):
    """(url, branch) of the book's repository, from _config.yml."""
    settings = yaml.safe_load(Path(config).read_text())["repository"]
    url = settings["url"].rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f"_config.yml repository.url must be an https:// address, got {url!r}")
    return url, settings.get("branch", "main")


def setup_source(config=ROOT / "_config.yml"):
    """The setup cell's source, for the repository named in ``config``."""
    url, branch = repository(config)
    return TEMPLATE.format(url=url, branch=branch)


def chapters():
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def setup_cell(notebook):
    """The notebook's setup cell, or None."""
    return next((cell for cell in notebook.cells if cell.get("id") == CELL_ID), None)


def sync(path, source, write=True):
    """Bring one chapter's setup cell in step; return what was (or would be) done, or None."""
    notebook = nbformat.read(path, as_version=4)
    cell = setup_cell(notebook)
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    if cell is None:
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = CELL_ID
        notebook.cells.insert(first_code, cell)
        action = "inserted"
    elif cell.source != source:
        cell.source = source
        cell.outputs, cell.execution_count = [], None
        action = "updated"
    elif notebook.cells[first_code] is not cell:
        action = "not the first code cell"
        return action  # someone moved it: say so, do not guess where it belongs
    else:
        return None
    if write:
        nbformat.write(notebook, path)
    return action


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if out of step")
    args = parser.parse_args(argv)
    source = setup_source()
    out_of_step = 0
    for path in chapters():
        action = sync(path, source, write=not args.check)
        if action:
            out_of_step += 1
            print(f"{path.name}: {action if not args.check else 'out of step (' + action + ')'}")
    if args.check:
        print(f"{out_of_step} chapter(s) out of step with _config.yml" if out_of_step else "all in step")
        return 1 if out_of_step else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
