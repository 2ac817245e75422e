"""Sphinx extension: when a build ends, write what it found to _build/build-record.json.

    {"warnings": 0, "nitpicky": true, "error": null}

``jupyter-book build . -W -n --keep-going`` (the README's first command) prints its warnings and
then fails; the record keeps the count next to the site, so the tests (tests/_site.py) can use
the README's build instead of building the book a second time: only when the record is newer
than every source of the book, and says the build was nitpicky, clean and finished.

The warnings are counted by a handler on Sphinx's logger ("sphinx", where every extension's
warnings go too): Sphinx's own count is a private attribute, and its public ``app.statuscode`` is
set only after the build-finished event. Warnings that ``suppress_warnings`` silences are not
counted, as Sphinx does not count them.
"""
import json
import logging
from pathlib import Path

from sphinx.util.logging import is_suppressed_warning

RECORD = "build-record.json"  # in the folder that holds html/ (_build)


class WarningCounter(logging.Handler):
    """Keeps each warning (or error) record once: Sphinx holds back some warnings and hands
    them to its logger's handlers again later (sphinx.util.logging.pending_warnings)."""

    def __init__(self, app):
        super().__init__(level=logging.WARNING)
        self.app, self.records = app, set()  # a LogRecord is hashed by identity

    def emit(self, record):
        suppressed = is_suppressed_warning(getattr(record, "type", ""), getattr(record, "subtype", ""),
                                           self.app.config.suppress_warnings)
        if not suppressed:
            self.records.add(record)


def write_record(app, exception, counter):
    record = {
        "warnings": len(counter.records),
        "nitpicky": bool(app.config.nitpicky),
        "error": None if exception is None else f"{type(exception).__name__}: {exception}",
    }
    (Path(app.outdir).parent / RECORD).write_text(json.dumps(record) + "\n", encoding="utf-8")


def setup(app):
    counter = WarningCounter(app)
    logging.getLogger("sphinx").addHandler(counter)
    app.connect("build-finished", lambda app, exception: write_record(app, exception, counter))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
