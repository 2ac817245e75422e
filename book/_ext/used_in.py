"""Sphinx extension: end each library entry of the API appendix with the chapters that use it.

The list is computed at build time from the chapters' code cells, so it cannot drift from them.
Each notebook's code is parsed with ``ast``: its imports of ``introdl`` (``from introdl import nn``,
``import introdl.functional as F``, ``from introdl.train import fit``) say what each local name
means, and every name or attribute chain that resolves to ``introdl.<module>.<name>`` counts as a
use. A name used only through an object (``model.backward``) is not seen; classes and functions are.
"""
import ast
import json
from pathlib import Path

LIBRARY = "introdl"


def _code_of(notebook):
    """The notebook's code cells, one after another, without IPython's % and ! lines."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            yield "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _dotted(node):
    """``a.b.c`` for an attribute chain on a plain name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def names_used(code_cells):
    """Every ``introdl.…`` dotted name that the code cells refer to (and each of its prefixes)."""
    aliases, used = {}, set()
    for source in code_cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == LIBRARY:
                        aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else LIBRARY
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == LIBRARY:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                full = _resolve(_dotted(node.value), aliases)  # lr_scheduler = optim.lr_scheduler
                if full is not None:
                    aliases[node.targets[0].id] = full
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Attribute, ast.Name)):
                continue
            dotted = _dotted(node)
            full = _resolve(dotted, aliases)
            if full is not None:
                parts = full.split(".")
                used.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return used


def _resolve(dotted, aliases):
    """``F.linear`` → ``introdl.functional.linear`` when ``F`` is an alias of the library, else None."""
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in aliases:
        return None
    return aliases[head] + ("." + rest if rest else "")


def chapter_uses(book):
    """``{dotted name: [notebook stem, ...]}`` over the chapters in ``book`` (a folder), in order."""
    uses = {}
    for notebook in sorted(Path(book).glob("[0-9][0-9]_*.ipynb")):
        for name in names_used(_code_of(notebook)):
            uses.setdefault(name, []).append(notebook.stem)
    return uses


def _append_used_in(app, what, name, obj, options, lines):
    if what not in ("class", "function", "exception"):
        return
    stems = app.env.introdl_uses.get(name) or app.env.introdl_uses.get(_canonical(obj, name))
    if stems:
        links = ", ".join(f":doc:`/book/{stem}`" for stem in stems)
        lines.extend(["", f"*Used in:* {links}."])


def _canonical(obj, name):
    """The name under which the object is defined (``introdl.nn.linear.Linear`` → its module path)."""
    module = getattr(obj, "__module__", None)
    return f"{module}.{getattr(obj, '__qualname__', name.rsplit('.', 1)[-1])}" if module else name


def _scan(app):
    app.env.introdl_uses = chapter_uses(Path(app.srcdir) / "book")


def setup(app):
    app.connect("builder-inited", _scan)
    app.connect("autodoc-process-docstring", _append_used_in)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
