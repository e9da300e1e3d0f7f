"""Only the store knows its tables: other rooms import the SQL store's public names, never its private modules."""

from __future__ import annotations

import ast
from pathlib import Path

import tracklet.store.sql as sql

ROOT = Path(__file__).resolve().parents[2]
# source folder -> the package it installs as
PACKAGES = {"core_client": "tracklet", "server": "tracklet.server", "integrations": "tracklet.integrations"}
STORE = "tracklet.store"


def _imports(path: Path, package: str) -> list[str]:
    """Every module ``path`` imports, as absolute dotted names (``from a import b`` gives ``a.b`` too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return found


def _modules() -> list[tuple[Path, str, str]]:
    """(file, its module name, its package) for every module of the three packages."""
    out = []
    for folder, top in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([top, *parts])
            out.append((path, name, name if is_package else name.rpartition(".")[0]))
    return out


def test_no_module_outside_the_store_imports_a_private_module_of_the_sql_store():
    assert len(_modules()) > 100  # the scan found the source folders
    offenders = set()
    for path, name, package in _modules():
        if name == STORE or name.startswith(STORE + "."):
            continue
        for imported in _imports(path, package):
            if imported.startswith("tracklet.store.sql._"):
                private = ".".join(imported.split(".")[:4])
                offenders.add(f"{path.relative_to(ROOT)} imports {private}")
    assert not offenders, "import from tracklet.store.sql (its __all__) instead:\n" + "\n".join(sorted(offenders))


def test_the_sql_store_exports_each_public_name_from_its_module():
    assert sql.__all__ == sorted(sql.__all__)
    for name in sql.__all__:
        value = getattr(sql, name)
        assert getattr(value, "__module__", "").startswith("tracklet.store.sql._"), name
