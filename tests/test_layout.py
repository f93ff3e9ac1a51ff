"""The shape of the code: packages by process, imports that point one way.

``common`` is imported by both Python environments, so it may import none of the
other packages; ``nlu`` (the Rasa server) and ``actions`` (the action server)
import only ``common``; the gateway never imports the launcher."""

import ast
from pathlib import Path

import pytest

from common.paths import ROOT

PACKAGES = ("common", "gateway", "nlu", "actions", "stack", "bench")
# What each package may import from the others.
ALLOWED = {
    "common": set(),
    "nlu": {"common"},
    "actions": {"common"},
    "gateway": {"common"},
    "stack": {"common", "gateway"},
    "bench": {"common", "gateway", "stack", "nlu", "actions"},
}
# Stacks a shared module must not import: it runs in both environments.
FOREIGN_TO_COMMON = {"fastapi", "sqlalchemy", "pydantic", "pydantic_settings", "rasa", "rasa_sdk", "starlette"}
MAX_LINES = 450


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(found)
        for path in modules(package)
        if (found := (imported(path) & set(PACKAGES)) - ALLOWED[package] - {package})
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_shared_code_imports_no_stack():
    wrong = {str(p.relative_to(ROOT)): sorted(imported(p) & FOREIGN_TO_COMMON) for p in modules("common")}
    assert not {k: v for k, v in wrong.items() if v}


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_stay_small(package):
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules(package)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_the_checker_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from gateway.db import session_scope\nimport common.hubs\n")
    assert imported(bad) == {"gateway", "common"}
