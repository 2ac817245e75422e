"""Write the setup cell of every chapter from _config.yml (the book's repository and branch).

    python scripts/sync_setup_cells.py            # insert or update the cell in every chapter
    python scripts/sync_setup_cells.py --check    # only report chapters that are out of step

Every chapter's first code cell is the same setup cell.  On Google Colab it installs the book's
library, introdl, from the repository and branch named in _config.yml (``repository.url`` and
``repository.branch``: the one place the address lives), and nothing else: ``pip install
--no-deps``, so the numpy, torch, ipywidgets ... that Colab ships stay as they are; only a
requirement of introdl (pyproject.toml) that is not installed at all is installed.  Anywhere else
(a computer with the book's requirements, Binder, nbval, nbgrader) it does nothing.  The
environment variable INTRODL_SOURCE, when set, replaces the address (any pip requirement: a
folder, a wheel, a git URL); the tests use it to install from the local checkout without a
network.

The cell carries the tag ``remove-cell``: Jupyter Book leaves it out of the website and the PDF
(it does nothing there), while Jupyter, Colab and nbval still run it.

The cell is found by its id ("colab-setup"), never by its position; a new one is inserted just
before the chapter's first code cell.  Nothing else in the notebook changes: each chapter is
read, changed and written back at once (a temporary file renamed over it), since other cells
may be edited at the same time.
"""
import argparse
import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CELL_ID = "colab-setup"
TAGS = ["remove-cell"]

TEMPLATE = '''\
# Setup. On Google Colab this cell installs the book's library, introdl, from the book's
# repository, and changes nothing Colab already has; anywhere else (your computer, Binder, a
# grader) it does nothing. (Written by scripts/sync_setup_cells.py from _config.yml.)
import os, re, subprocess, sys
from importlib.metadata import PackageNotFoundError, distribution

try:
    import google.colab  # exists on Colab only
except ImportError:
    pass
else:
    source = os.environ.get("INTRODL_SOURCE", "git+{url}@{branch}")
    needs = {needs!r}  # introdl's requirements

    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    done = subprocess.run(pip + ["--no-deps", source], capture_output=True, text=True)
    absent = []  # a requirement Colab does not have at all is installed; none is upgraded
    for requirement in needs:
        try:
            distribution(re.split("[<>=!~; ]", requirement)[0])
        except PackageNotFoundError:
            absent.append(requirement)
    if done.returncode == 0 and absent:
        done = subprocess.run(pip + absent, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"The book's library, introdl, could not be installed from {{source}}\\n"
            f"(pip: {{done.stderr.strip()[-600:]}}).\\n"
            "If you uploaded this notebook by hand, upload the book's lib/ folder and "
            "pyproject.toml as well, run  !pip install --no-deps .  in the folder that holds "
            "them, and run this chapter again; or run the chapters from a clone of the "
            "book's repository on your own computer (see its README.md).")
    print("introdl installed from", source)'''


def repository(config=ROOT / "_config.yml"):
    """(url, branch) of the book's repository, from _config.yml."""
    settings = yaml.safe_load(Path(config).read_text())["repository"]
    url = settings["url"].rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f"_config.yml repository.url must be an https:// address, got {url!r}")
    return url, settings.get("branch", "main")


def requirements(pyproject=ROOT / "pyproject.toml"):
    """introdl's own requirements, as pyproject.toml lists them."""
    return tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]["dependencies"]


def setup_source(config=ROOT / "_config.yml"):
    """The setup cell's source, for the repository named in ``config``."""
    url, branch = repository(config)
    return TEMPLATE.format(url=url, branch=branch, needs=requirements())


def chapters():
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def sync(path, source, write=True):
    """Bring one chapter's setup cell in step; return what was (or would be) done, or None."""
    path = Path(path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    cell = next((c for c in cells if c.get("id") == CELL_ID), None)
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    if cell is None:
        cell = {"cell_type": "code", "execution_count": None, "id": CELL_ID, "metadata": {},
                "outputs": [], "source": []}
        cells.insert(first_code, cell)
        action = "inserted"
    elif cells[first_code] is not cell:
        return "not the first code cell"  # someone moved it: say so, do not guess where it belongs
    elif "".join(cell["source"]) != source or cell["metadata"].get("tags") != TAGS:
        action = "updated"
    else:
        return None
    cell["source"] = source.splitlines(keepends=True)
    cell["metadata"]["tags"] = list(TAGS)
    cell["outputs"], cell["execution_count"] = [], None
    if write:
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp",
                                         delete=False) as temporary:
            temporary.write(text)
        os.replace(temporary.name, path)
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
