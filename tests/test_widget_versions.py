"""Both explorers, live in a real kernel, with the ipywidgets installed here (8) and with Colab's (7.7.1).

ipywidgets 8 displays a widget through ``_repr_mimebundle_`` and 7 through ``_ipython_display_``;
Colab ships ipywidgets 7.7.1 with ipykernel 6.17. Colab's versions are fetched from the package
registry once (``pip download``, no dependencies) into _build/ (git-ignored) and put first on the
kernel's PYTHONPATH, so the kernel imports them instead of this environment's. Each kernel builds
both explorers, displays them, moves each slider and reports whether the picture and the readout
followed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# What Colab runs (ipywidgets 7.7.1 needs ipython_genutils; ipykernel 6.17 needs nest_asyncio).
COLAB = ["ipywidgets==7.7.1", "widgetsnbextension==3.6.10", "jupyterlab_widgets==1.1.11", "ipython_genutils==0.2.0",
         "ipykernel==6.17.1", "nest_asyncio==1.6.0"]
CACHE = ROOT / "_build" / "colab-widgets"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def colab_site():
    """A folder holding Colab's widget packages, made once (later runs reuse it).

    It is made in a temporary folder and renamed into place, so that two test runs at once
    never see half of it.
    """
    ready = CACHE / "ready"
    if (ready / "installed.json").exists():
        if json.loads((ready / "installed.json").read_text()) == COLAB:
            return ready / "site"
        shutil.rmtree(ready, ignore_errors=True)  # made for other versions
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    done = subprocess.run(pip + ["download", "--no-deps", "-d", str(work / "wheels"), *COLAB],
                          capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(work)
        pytest.skip(f"cannot download Colab's widget packages from the package registry: {done.stderr[-500:]}")
    subprocess.run(pip + ["install", "--no-deps", "--no-compile", "--target", str(work / "site"),
                          *map(str, (work / "wheels").glob("*.whl"))], check=True, capture_output=True)
    (work / "installed.json").write_text(json.dumps(COLAB))
    try:
        work.rename(ready)
    except OSError:  # another run put its copy there first
        shutil.rmtree(work)
    return ready / "site"


BUILD = """\
import ipywidgets, ipykernel
from introdl.widgets import dropout_explorer, learning_rate_explorer
print(ipywidgets.__version__, ipykernel.__version__)
learning = learning_rate_explorer(grid=[0.01, 0.5, 1.5], initial=0.5)
dropout = dropout_explorer((0.0, 0.5), epochs=1, hidden=16)
display(learning)
display(dropout)
"""

MOVE = """\
import ipywidgets
from ipywidgets.widgets import widget as _widget
# The widgets the kernel holds, by model id: a dict in ipywidgets 8 (_instances) and 7 (Widget.widgets).
registry = getattr(_widget, "_instances", None) or ipywidgets.Widget.widgets

def move(model_id, value):
    slider, readout, image = registry[model_id].children
    before = bytes(image.value), readout.value
    slider.value = value
    return {"image changed": bytes(image.value) != before[0], "readout": readout.value}

print(json.dumps([move(LEARNING, 1.5), move(DROPOUT, 0.0)]))
"""


def run_in_kernel(pythonpath=None):
    """Build, display and move both explorers in a fresh kernel; (versions, views, moves)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath)] + [p for p in [env.get("PYTHONPATH")] if p])
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(BUILD)]
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(ROOT)}})
    with client.setup_kernel(env=env):
        client.execute_cell(notebook.cells[0], 0)
        outputs = notebook.cells[0].outputs
        versions = outputs[0]["text"].split()
        views = [o["data"] for o in outputs if o["output_type"] == "display_data"]
        ids = [view[WIDGET_VIEW]["model_id"] for view in views]
        ids = f"import json\nLEARNING, DROPOUT = {ids[0]!r}, {ids[1]!r}\n"
        notebook.cells.append(nbformat.v4.new_code_cell(ids + MOVE))
        client.execute_cell(notebook.cells[1], 1)
    moves = json.loads(notebook.cells[1].outputs[0]["text"])
    return versions, views, moves


@pytest.mark.parametrize("colab", [False, True], ids=["installed ipywidgets 8", "Colab's ipywidgets 7.7.1"])
def test_both_explorers_display_and_redraw_in_a_kernel(colab):
    versions, views, moves = run_in_kernel(colab_site() if colab else None)
    if colab:
        assert versions == ["7.7.1", "6.17.1"]
    else:
        assert versions[0].startswith("8.")
    assert len(views) == 2
    for view in views:
        # The live view as both versions write it, next to the static twin and a line of text.
        assert view[WIDGET_VIEW]["version_major"] == 2 and len(view[WIDGET_VIEW]["model_id"]) == 32
        assert view["text/html"].startswith('<div class="introdl-explorer"') and "Run All" in view["text/plain"]
    learning, dropout = moves
    assert learning["image changed"] and learning["readout"].startswith("diverged at step")
    assert dropout["image changed"] and dropout["readout"].startswith("p = 0.0:")
