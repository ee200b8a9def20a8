"""The floors: every deployable stands on gallery_core alone, and no module grows unreadable.

Read from the source (every ``import`` and ``from ... import``, at module level or inside a
function), not from a linter comment:

- the services (``producer``, ``vectorizer``, ``gallery_api``) and the local stack
  (``devstack``) import ``gallery_core`` and their own code, never one another;
- ``gallery_core`` imports none of the product's other packages;
- ``training`` (model training, the style generator) stands on ``gallery_core`` only, and no
  service imports it, nor the operator's tools (``gallery_cli``, ``benchmarks``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gallery_core.settings import REPO_ROOT

PRODUCT = ("gallery_core", "producer", "vectorizer", "gallery_api", "devstack", "training")
TOOLS = ("gallery_cli", "benchmarks")
#: What each package may import of the product's packages, besides itself.
ALLOWED = {
    "gallery_core": set(),
    "producer": {"gallery_core"},
    "vectorizer": {"gallery_core"},
    "gallery_api": {"gallery_core"},
    "devstack": {"gallery_core"},
    "training": {"gallery_core"},
}
MAX_LINES = 500


def product_imports(path: Path) -> set[str]:
    """The product's top-level packages that the module at ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & {*PRODUCT, *TOOLS}
    return found


def modules(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_floors_beneath_it(package: str) -> None:
    wrong = {
        str(path.relative_to(REPO_ROOT)): sorted(used - ALLOWED[package] - {package})
        for path in modules(package)
        if (used := product_imports(path)) - ALLOWED[package] - {package}
    }
    assert wrong == {}


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json\n"
        "from gallery_core.settings import Settings\n"
        "def f():\n"
        "    from devstack.stack import status\n"
        "    import producer.walk\n"
        "    from . import sibling\n"
    )
    assert product_imports(module) == {"gallery_core", "devstack", "producer"}


def test_no_module_outside_the_tests_is_over_500_lines() -> None:
    roots = [*PRODUCT, *TOOLS, "elasticsearch-plugin"]
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for root in roots
        for path in modules(root)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
