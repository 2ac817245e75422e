"""Saving a chapter whose explorers ran: keep their picture, drop the live view that cannot come back.

What JupyterLab 4 shows for a saved explorer (jupyterlab_widgets 3, the ipywidgets 8 manager;
source: jupyter-widgets/ipywidgets, python/jupyterlab_widgets/src/renderer.ts and plugin.ts, and
JupyterLab's ``RenderMimeRegistry.preferredMimeType``):

1. An output is drawn by one renderer, the first in rank order that takes one of the bundle's
   types. The widget renderer is registered with rank -10, ahead of every other, but as unsafe:
   for an *untrusted* output only safe renderers count, so text/html is drawn; for a *trusted*
   one the widget view is drawn and no other type of the bundle is ever looked at. A notebook
   that was run and then saved is signed, so on reopening its outputs are trusted.
2. The widget renderer looks up the view's ``model_id`` in the kernel's widget manager, which
   restores the models that the kernel still has and those whose state the notebook's metadata
   holds (``widgets`` / ``application/vnd.jupyter.widget-state+json``; JupyterLab writes it only
   with its setting ``saveState``, off by default). A model that is not there gives the line
   "Error displaying widget: model not found" and nothing else; an empty ``model_id`` hides the
   output.

A reopened chapter has a new kernel, so its explorers' models are gone: rule 2 gives the error.
``drop_lost_widget_views`` removes, from every output bundle that also carries a picture of its
own (text/html or image/png), a widget view whose model's state the notebook does not hold. What
stays is the explorer's static twin: by rule 1 the reopened chapter shows its picture and its
precomputed slider, and after the cells are run again the live slider.

``introdl.widgets.saving`` is also a Jupyter server extension that runs this on every save
(autosave and Ctrl+S alike). ``python -m introdl.widgets.saving`` enables it for the Jupyter of
this Python: it writes ``SERVER_CONFIG`` as ``introdl.json`` into
``<sys.prefix>/etc/jupyter/jupyter_server_config.d``, where ``jupyter lab`` reads its settings (pip
installs no such file for the library, editable or not). The live widget in the open notebook is
not touched: only the file is.

Colab saves notebooks itself, without this hook. It stores the widgets' state in the notebook's
metadata and hands a saved view its model's state when no kernel is connected (the
``WidgetEnvironment.getModelState`` of its widget-manager interface, googlecolab/colabtools
packages/outputframe/lib/index.d.ts), so a reopened chapter should show the explorer as it was
left; the tests cannot try it, having no Colab.
"""
import json
import sys
from pathlib import Path

# The Jupyter server configuration that loads this extension (jupyter_server_config.d/introdl.json).
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"introdl.widgets.saving": True}}}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Types that draw the output without a kernel: a bundle with one of them needs no widget view.
PICTURES = ("text/html", "image/png")


def drop_lost_widget_views(notebook):
    """Remove every widget view that a reopened notebook could not draw and that has a picture.

    notebook: a notebook as a dict (nbformat 4), changed in place. A view is dropped from an
    output's ``data`` when its model's state is not saved in ``notebook["metadata"]["widgets"]``
    and the same bundle holds text/html or image/png. Returns the number of views dropped.
    """
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError(f"expected a notebook as a dict with a list of cells, got {type(notebook).__name__}")
    saved = (notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}))
    dropped = 0
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            if view is not None and view.get("model_id") not in saved and any(t in data for t in PICTURES):
                del data[WIDGET_VIEW]
                dropped += 1
    return dropped


def pre_save_hook(model, **kwargs):
    """jupyter_server's pre-save hook: ``drop_lost_widget_views`` on a notebook about to be saved."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        drop_lost_widget_views(model["content"])


def _jupyter_server_extension_points():
    return [{"module": "introdl.widgets.saving"}]


def _load_jupyter_server_extension(serverapp):
    """Run ``pre_save_hook`` whenever the server saves a file."""
    serverapp.contents_manager.register_pre_save_hook(pre_save_hook)


def enable(prefix=sys.prefix):
    """Enable the extension for the Jupyter server installed under ``prefix`` (default: this
    Python's environment). Returns the path of the configuration file written."""
    target = Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "introdl.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"enabled introdl.widgets.saving: wrote {enable()}")
