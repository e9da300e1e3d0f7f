"""Check that a venv holds exactly the versions a constraints file pins (``make test-oldest`` runs it
before the tests, so that "tested against the oldest versions" is checked, not assumed: a constraint
only caps what pip installs, and says nothing when a package is missing).

Usage: python tests/installed_pins.py constraints-oldest.txt
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version


def main(path: str) -> int:
    wrong = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, pinned = (part.strip() for part in line.split("=="))
            try:
                installed = version(name).split("+", 1)[0]  # torch's local tag: 2.13.0+cpu
            except PackageNotFoundError:
                installed = "missing"
            if installed != pinned:
                wrong.append(f"{name}: {installed}, pinned {pinned}")
    for line in wrong:
        print(f"{path}: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
