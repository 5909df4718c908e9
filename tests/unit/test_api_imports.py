"""scripts/api_imports.py: imports that bypass a package's API are rewritten to it, only for exported names,
and a second run changes nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.fakes import ROOT


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_imports", ROOT / "scripts" / "api_imports.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text('from pkg.mod import A, C\n\n__all__ = ["A", "C"]\n')
    (root / "pkg" / "mod.py").write_text("A = 1\nB = 2\nC = 3\n")
    (root / "pkg" / "sub" / "__init__.py").write_text("__all__: list[str] = []\n")
    (root / "pkg" / "inner.py").write_text("from pkg.mod import B\n")
    (root / "user.py").write_text(
        "from pkg.mod import A\nfrom pkg.mod import A, B\n\n\n"
        "def f() -> int:\n    from pkg.mod import C  # noqa: F401\n    return 0\n"
    )


def test_exported_names_are_imported_from_the_package_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    tool = _tool()
    _tree(tmp_path)
    user = tmp_path / "user.py"
    assert [(line, module) for line, module, _ in tool.problems(user, ("pkg",), tmp_path)] == [
        (1, "pkg.mod"),
        (2, "pkg.mod"),
        (6, "pkg.mod"),
    ]
    left = tool.rewrite(user, ("pkg",), tmp_path)
    assert left == ["pkg.mod: B"]
    assert user.read_text() == (
        "from pkg import A\nfrom pkg.mod import A, B\n\n\ndef f() -> int:\n    from pkg import C  # noqa: F401\n"
        "    return 0\n"
    )
    assert tool.rewrite(user, ("pkg",), tmp_path) == ["pkg.mod: B"]
    assert user.read_text().count("from pkg import") == 2
    inner = tmp_path / "pkg" / "inner.py"
    assert tool.problems(inner, ("pkg",), tmp_path) == []  # inside the package its modules are imported directly
    assert tool.exported("pkg.sub", tmp_path) == set()
    assert tool.exported("nothing", tmp_path) == set()
