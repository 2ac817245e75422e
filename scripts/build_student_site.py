"""Build the website for students: the book without its solutions.

    python scripts/build_student_site.py                       # into _build/student/html
    python scripts/build_student_site.py --launch-url https://github.com/me/course-student --launch-branch main

The chapters are copied with every solution replaced as in the student edition (nbgrader's own
``ClearSolutions``: the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
``raise NotImplementedError()``), the outputs of the solution and test cells cleared (a stored ✓
would claim a check that the student has not passed), and the rest of each chapter, figures
included, as on the book's website. The page's download button gives the student notebook.

Launch buttons: the book's Binder and Colab buttons open the book's own notebooks, solutions
included, so the student site has none, unless ``--launch-url`` names a repository (and
``--launch-branch`` its branch) where you published the student notebooks under ``book/``; for
example the files of ``_build/student/source/book/*.ipynb``.

Needs the author's install (Jupyter Book and nbgrader).
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "_build" / "student"
# What the book's build reads from the repository root (see _config.yml); the rest is left out.
COPIED = ("_config.yml", "_toc.yml", "_templates", "book", "benchmarks", "README.md")


def student_notebook(path):
    """A chapter as the student edition has it: solutions cleared, exercise outputs cleared."""
    import nbformat
    from nbgrader.preprocessors import ClearSolutions

    notebook = nbformat.read(path, as_version=4)
    notebook, _ = ClearSolutions(enforce_metadata=False).preprocess(notebook, {})
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade") or nbgrader.get("solution"):
            cell.outputs, cell.execution_count = [], None
    return notebook


def write_source(source, launch_url, launch_branch):
    """The book's files under ``source``, with student chapters and the launch buttons set."""
    import nbformat

    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for name in COPIED:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb_checkpoints"))
        elif path.exists():
            shutil.copyfile(path, source / name)
    for chapter in sorted((source / "book").glob("[0-9][0-9]_*.ipynb")):
        nbformat.write(student_notebook(chapter), chapter)
    config = (source / "_config.yml").read_text()
    if launch_url:
        config = re.sub(r"(?m)^  url: .*$", f"  url: {launch_url}", config, count=1)
        config = re.sub(r"(?m)^  branch: .*$", f"  branch: {launch_branch}", config, count=1)
    else:
        config = re.sub(r"(?m)^  binderhub_url: .*$", '  binderhub_url: ""', config)
        config = re.sub(r"(?m)^  colab_url: .*$", '  colab_url: ""', config)
    (source / "_config.yml").write_text(config)


def solution_lines():
    """Lines (longer than 12 characters) found only inside the book's solution blocks, nowhere
    else in the book (to check the built HTML against)."""
    texts = ["\n".join("".join(cell["source"]) for cell in json.loads(chapter.read_text())["cells"])
             for chapter in sorted((REPO / "book").glob("[0-9][0-9]_*.ipynb"))]
    blocks = [block for text in texts for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S)]
    rest = "\n".join(re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", text, flags=re.S) for text in texts)
    return {line.strip() for block in blocks for line in block.splitlines()
            if len(line.strip()) > 12 and line.strip() not in rest}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launch-url", default="", help="a repository holding the student notebooks under book/")
    parser.add_argument("--launch-branch", default="main")
    args = parser.parse_args(argv)
    source = OUT / "source"
    write_source(source, args.launch_url, args.launch_branch)
    built = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(source)])
    if built.returncode:
        return built.returncode
    html = OUT / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.move(str(source / "_build" / "html"), html)
    import html as html_module
    pages = [html_module.unescape(re.sub(r"<[^>]+>", "", path.read_text(errors="replace")))
             for path in html.rglob("*.html")]
    leaked = sorted(line for line in solution_lines() if any(line in page for page in pages))
    if leaked:
        print(f"solution lines found in the student site: {leaked[:5]}", file=sys.stderr)
        return 1
    print(f"student site: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
