"""Sphinx extension: let docstrings write |x| for an absolute value or a norm.

The library's docstrings are written as plain text with the chapters' maths, where |a − b| is
an absolute value. In reStructuredText, |name| is a substitution reference, and an undefined
one is an error. Before autodoc's text is parsed, this escapes each "|" outside inline literals
(``...``) and literal blocks (the indented lines after a line ending in "::"), so that it is
shown as the character it is.
"""
import re

_LITERAL = re.compile(r"(``.*?``)")


def _escape_line(line):
    parts = _LITERAL.split(line)
    return "".join(part if part.startswith("``") else part.replace("|", "\\|") for part in parts)


def escape_bars(app, what, name, obj, options, lines):
    literal_indent = None  # the indentation of the line that opened the current literal block
    opens_literal = False
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if line.strip() and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if opens_literal and line.strip():
            opens_literal = False
        lines[i] = _escape_line(line)
        if line.rstrip().endswith("::"):
            literal_indent, opens_literal = indent, True


def setup(app):
    app.connect("autodoc-process-docstring", escape_bars)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
