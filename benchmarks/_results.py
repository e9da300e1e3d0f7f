"""One home for writing a benchmark's own section of benchmarks/RESULTS.md (between its start and end markers)."""

from __future__ import annotations

import os

__all__ = ["report", "write_section"]

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def write_section(text: str, start: str, end: str, path: str = RESULTS) -> None:
    """Replace the part of ``path`` from ``start`` to ``end`` by ``text`` (appended when the markers are not there)."""
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if start in old and end in old:
        new = old[: old.index(start)] + text + old[old.index(end) + len(end) + 1 :]
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + text
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def report(md: str, start: str, end: str, write: bool = True) -> None:
    """Print a benchmark's section and, unless ``write`` is False, put it between its markers in RESULTS.md."""
    print(md)
    if write:
        write_section(f"{start}\n{md.rstrip()}\n{end}\n", start, end)
