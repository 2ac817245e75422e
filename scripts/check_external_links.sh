#!/usr/bin/env bash
# Check every external link in the book (http/https links in pages and notebooks).
#
#     scripts/check_external_links.sh            # from anywhere; builds into _build/linkcheck-out
#
# NEEDS INTERNET: Sphinx's linkcheck builder requests every external URL.  That is why this is a
# separate command and not part of the tests, which run offline.  The report lands in
# <output>/_build/html/output.txt (one line per link) and output.json; the exit status is
# non-zero when a link is broken.  Set LINKCHECK_OUT to choose the output folder.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${LINKCHECK_OUT:-$root/_build/linkcheck-out}"

if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$root/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "$root/.venv/bin/activate"
fi

status=0
jupyter-book build "$root" --builder linkcheck --path-output "$out" || status=$?

report="$out/_build/html/output.txt"
if [ -f "$report" ]; then
    echo
    echo "Links that are not fine (from $report):"
    grep -v -E '^\S+:[0-9]+: \[(ok|unchecked)\]' "$report" || echo "  none"
fi
exit "$status"
