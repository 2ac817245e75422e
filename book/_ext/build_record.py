"""Sphinx extension: when a build ends, write what it found to _build/build-record.json.

    {"warnings": 0, "nitpicky": true, "error": null}

``jupyter-book build . -W -n --keep-going`` (the README's first command) prints its warnings and
then fails; the record keeps the count next to the site, so the tests (tests/_site.py) can use
the README's build instead of building the book a second time: only when the record is newer
than every source of the book, and says the build was nitpicky, clean and finished.
"""
import json
from pathlib import Path

RECORD = "build-record.json"  # in the folder that holds html/ (_build)


def write_record(app, exception):
    record = {
        "warnings": getattr(app, "_warncount", None),  # Sphinx's own count (None if it has none)
        "nitpicky": bool(app.config.nitpicky),
        "error": None if exception is None else f"{type(exception).__name__}: {exception}",
    }
    (Path(app.outdir).parent / RECORD).write_text(json.dumps(record) + "\n", encoding="utf-8")


def setup(app):
    app.connect("build-finished", write_record)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
