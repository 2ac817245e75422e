"""Sphinx extension: at the end of a build, a printed notice while _config.yml's repository.url
is still the placeholder that the book ships with.

That address is behind every launch button (Binder, Colab), the repository and issue buttons and
the chapters' Colab setup cells, so a published copy must name its own repository. The notice is
printed (Sphinx's info log), not a warning: the README's ``-W`` build of an unpublished copy, and
its tests, must still pass.
"""
from sphinx.util import logging
from sphinx.util.console import bold

PLACEHOLDER = "https://github.com/introdl-book/introdl"
logger = logging.getLogger(__name__)


def notice(app, exception):
    url = (app.config.html_theme_options or {}).get("repository_url", "").rstrip("/")
    if exception is None and url == PLACEHOLDER:
        logger.info(bold(
            f"Before publishing: repository.url in _config.yml is the placeholder {PLACEHOLDER}. "
            "Set repository.url and repository.branch to the book's own repository, run "
            "scripts/sync_setup_cells.py, and build again (README.md, \"Publishing\")."))


def setup(app):
    app.connect("build-finished", notice)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
