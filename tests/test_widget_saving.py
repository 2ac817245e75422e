"""A chapter saved after its explorer ran, and reopened: what JupyterLab 4 shows in the explorer's place.

The explorer cell runs in a real kernel (nbclient, without storing widget state, as JupyterLab
saves by default); the notebook is saved by a Jupyter server started with the configuration that
``python -m introdl.widgets.saving`` writes (it loads the save hook); the file is read
back and judged by the rule JupyterLab applies to it (``what_jupyterlab_shows``).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary

from introdl.widgets import saving

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = saving.WIDGET_VIEW
MODEL_NOT_FOUND = "Error displaying widget: model not found"


def what_jupyterlab_shows(output, *, trusted, saved_state):
    """What JupyterLab 4 with jupyterlab_widgets 3 draws for one saved output after reopening,
    with a new kernel (so no widget model survives except those in ``saved_state``).

    The rule, from the sources (jupyter-widgets/ipywidgets python/jupyterlab_widgets/src: plugin.ts
    registers the widget renderer with rank -10 and safe: false; renderer.ts, renderModel: an
    empty model_id hides the output, a model the restored manager lacks gives MODEL_NOT_FOUND;
    JupyterLab's RenderMimeRegistry.preferredMimeType(data, trusted ? "any" : "ensure") takes
    the first type by rank, only safe ones for an untrusted output). Among the other types
    text/html (rank 50, safe) comes before image/png (90) and text/plain (120).
    Returns (mime type drawn, what is drawn).
    """
    data = output.get("data", {})
    if WIDGET_VIEW in data and trusted:
        model_id = data[WIDGET_VIEW]["model_id"]
        if model_id == "":
            return WIDGET_VIEW, "(hidden)"
        return (WIDGET_VIEW, "(the widget)") if model_id in saved_state else (WIDGET_VIEW, MODEL_NOT_FOUND)
    for mime in ("text/html", "image/png", "text/plain"):
        if mime in data:
            return mime, data[mime]
    return None, ""


def run_explorer_cell():
    """Chapter 7's explorer cell (on a shorter grid) run in a real kernel, as a notebook dict."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("from introdl.widgets import learning_rate_explorer"),
                      nbformat.v4.new_code_cell("learning_rate_explorer(grid=[0.01, 0.5, 1.5], initial=0.5)")]
    # JupyterLab stores widget state only with its setting saveState, which is off by default.
    NotebookClient(notebook, kernel_name="python3", timeout=300, store_widget_state=False,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    notebook = json.loads(nbformat.writes(notebook))
    for cell in notebook["cells"]:
        cell["metadata"]["trusted"] = True  # JupyterLab marks every cell it ran as trusted
    return notebook


def reopen(path, notary):
    """The saved notebook, whether it opens trusted (its signature matches), and the widget state it holds."""
    reopened = nbformat.read(path, as_version=4)
    saved_state = reopened.metadata.get("widgets", {}).get(saving.WIDGET_STATE, {}).get("state", {})
    return reopened, notary.check_signature(reopened), saved_state


# A Jupyter server as `jupyter lab` starts it, configured by the files in JUPYTER_CONFIG_PATH;
# it saves the notebook through its own contents manager, as on Ctrl+S or an autosave.
SERVER_SAVE = """
import asyncio, inspect, json, sys
from jupyter_server.serverapp import ServerApp
app = ServerApp()
app.initialize(argv=["--ServerApp.open_browser=False", "--ServerApp.root_dir=" + sys.argv[1]], new_httpserver=False)
with open(sys.argv[2]) as file:
    notebook = json.load(file)
saved = app.contents_manager.save({"type": "notebook", "format": "json", "content": notebook}, "chapter.ipynb")
if inspect.isawaitable(saved):  # the server's default manager is asynchronous
    asyncio.run(saved)
print(json.dumps(sorted(name for name, on in app.jpserver_extensions.items() if on)))
"""


@pytest.fixture(scope="module")
def ran():
    return run_explorer_cell()


def explorer_output(notebook):
    (output,) = notebook["cells"][1]["outputs"]
    return output


def test_without_the_hook_a_reopened_chapter_shows_the_widget_error(ran, tmp_path):
    # What readers saw: the saved, signed notebook keeps the live view, whose model is gone.
    (tmp_path / "data").mkdir()
    notary = NotebookNotary(data_dir=str(tmp_path / "data"))
    manager = FileContentsManager(root_dir=str(tmp_path), notary=notary)
    manager.save({"type": "notebook", "format": "json", "content": json.loads(json.dumps(ran))}, "chapter.ipynb")
    reopened, trusted, state = reopen(tmp_path / "chapter.ipynb", notary)
    assert trusted and not state
    assert what_jupyterlab_shows(explorer_output(reopened), trusted=trusted, saved_state=state) == \
        (WIDGET_VIEW, MODEL_NOT_FOUND)


def test_a_reopened_chapter_saved_by_the_server_shows_the_explorers_picture(ran, tmp_path):
    # `python -m introdl.widgets.saving` writes the configuration into an environment's etc/jupyter.
    written = saving.enable(prefix=tmp_path / "env")
    assert json.loads(written.read_text()) == {"ServerApp": {"jpserver_extensions": {"introdl.widgets.saving": True}}}
    (tmp_path / "root").mkdir()
    (tmp_path / "ran.json").write_text(json.dumps(ran))
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(tmp_path / "env" / "etc" / "jupyter"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "user"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    done = subprocess.run([sys.executable, "-c", SERVER_SAVE, str(tmp_path / "root"), str(tmp_path / "ran.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "introdl.widgets.saving" in json.loads(done.stdout.splitlines()[-1])
    reopened, trusted, state = reopen(tmp_path / "root" / "chapter.ipynb",
                                      NotebookNotary(data_dir=str(tmp_path / "data")))
    assert trusted  # still signed: its scripts run, so the precomputed slider moves
    mime, shown = what_jupyterlab_shows(explorer_output(reopened), trusted=trusted, saved_state=state)
    assert mime == "text/html" and shown.startswith('<div class="introdl-explorer"')
    assert shown.count('<img class="introdl-explorer-frame" src="data:image/png;base64,') == 2  # its two panels
    assert "run the cells above and this one, or Run All" in shown
    # Opened untrusted (on another machine), the same output still shows the picture.
    assert what_jupyterlab_shows(explorer_output(reopened), trusted=False, saved_state=state)[0] == "text/html"


def test_views_that_can_come_back_or_have_no_picture_are_kept():
    def cell(*bundles):
        return {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1,
                "outputs": [{"output_type": "display_data", "metadata": {}, "data": b} for b in bundles]}

    def view(model_id):
        return {WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": model_id}}

    notebook = {"cells": [cell({**view("a"), "text/html": "<p>picture</p>"},  # state saved: it can come back
                               {**view("b"), "text/plain": "IntSlider(value=3)"},  # no picture to show instead
                               {**view("c"), "image/png": "iVBOR", "text/plain": "figure"}),  # dropped
                          {"cell_type": "markdown", "metadata": {}, "source": "text"}],
                "metadata": {"widgets": {saving.WIDGET_STATE: {"state": {"a": {}}}}}}
    assert saving.drop_lost_widget_views(notebook) == 1
    a, b, c = (output["data"] for output in notebook["cells"][0]["outputs"])
    assert WIDGET_VIEW in a and WIDGET_VIEW in b and c == {"image/png": "iVBOR", "text/plain": "figure"}
    saving.pre_save_hook({"type": "file", "content": "not a notebook"})  # other files are left alone
    with pytest.raises(TypeError, match="expected a notebook"):
        saving.drop_lost_widget_views("chapter.ipynb")


def test_enable_needs_no_file_beside_the_module(tmp_path):
    # A wheel (Binder's `pip install --no-deps .`) holds the library's .py files only: the module
    # alone, copied away from lib/, must still write the configuration.
    import importlib.util

    alone = tmp_path / "module" / "saving_alone.py"
    alone.parent.mkdir()
    alone.write_text(Path(saving.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("saving_alone", alone)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.enable(prefix=tmp_path / "env")
    assert json.loads(written.read_text()) == {"ServerApp": {"jpserver_extensions": {"introdl.widgets.saving": True}}}
