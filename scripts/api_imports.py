"""Rewrite imports of a package's submodules to the package's API, where its ``__init__`` exports the names.

``from kiosk.dialogue.engine import DialogueEngine`` in a module outside
``kiosk.dialogue`` becomes ``from kiosk.dialogue import DialogueEngine`` when
``kiosk/dialogue/__init__.py`` lists ``DialogueEngine`` in ``__all__``.
Imports of names a package does not export are left alone (and reported with
``--check``). Re-runnable: a second run changes nothing. Run ``ruff check
--fix`` afterwards to merge the import lines. Used by the house moves
(docs/architecture.md, "Package APIs").

Usage: python scripts/api_imports.py [--check] [--only PKG,PKG...] [PATH ...]
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("statedb", "bundles", "edge_models", "hardware", "avatar", "sync", "kiosk")
# The packages whose API is their __init__ (tests/unit/test_architecture.py reads this list).
CHECKED = (
    "bundles",
    "hardware",
    "statedb",
    "sync.agent",
    "sync.hq",
    "sync.hq.console",
    "sync.hq_cli",
    "kiosk.admin",
    "kiosk.assembly",
    "kiosk.conversation",
    "kiosk.dialogue",
    "kiosk.idcard",
    "kiosk.intents",
    "kiosk.llm",
    "kiosk.policy",
    "kiosk.privacy",
    "kiosk.runtime",
    "kiosk.storage",
    "kiosk.voice",
    "kiosk.web",
)
DEFAULT_PATHS = TOPS


def exported(package: str, root: Path = ROOT) -> set[str]:
    """The names in ``package``'s ``__all__`` (empty when it has none or is not a package)."""
    init = root.joinpath(*package.split("."), "__init__.py")
    if not init.is_file():
        return set()
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return {str(name) for name in ast.literal_eval(node.value)}
    return set()


def module_name(path: Path, root: Path = ROOT) -> str:
    """``kiosk/dialogue/engine.py`` -> ``kiosk.dialogue.engine`` (a package's ``__init__`` -> the package)."""
    parts = list(path.resolve().relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def owner(module: str, packages: tuple[str, ...]) -> str | None:
    """The innermost checked package that ``module`` is a submodule of (not the package itself)."""
    found = [p for p in packages if module.startswith(p + ".")]
    return max(found, key=len) if found else None


def problems(path: Path, packages: tuple[str, ...] = CHECKED, root: Path = ROOT) -> list[tuple[int, str, str]]:
    """``(line, imported module, package)`` for each import into a checked package's submodule from outside it."""
    importer = module_name(path, root)
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            package = owner(node.module, packages)
            if package is None or importer == package or importer.startswith(package + "."):
                continue
            out.append((node.lineno, node.module, package))
    return out


def rewrite(path: Path, packages: tuple[str, ...] = CHECKED, root: Path = ROOT) -> list[str]:
    """Rewrite ``path`` in place; the names of imports left alone (their names are not exported)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    left = []
    nodes = {(n.lineno, n.module): n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    for lineno, module, package in problems(path, packages, root):
        node = nodes[(lineno, module)]
        names = {alias.name for alias in node.names}
        if not names <= exported(package, root):
            left.append(f"{module}: {', '.join(sorted(names - exported(package, root)))}")
            continue
        pattern = re.compile(rf"(\bfrom\s+){re.escape(module)}(\s+import\b)")
        lines[lineno - 1] = pattern.sub(rf"\g<1>{package}\g<2>", lines[lineno - 1], count=1)
    new = "".join(lines)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return left


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for name in paths:
        path = ROOT / name
        if path.is_file() and path.suffix == ".py":
            out.append(path)
        elif path.is_dir():
            out.extend(p for p in sorted(path.rglob("*.py")) if ".venv" not in p.parts)
    return out


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` list) imports that bypass a package's API; 1 when ``--check`` finds any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list imports that bypass a package's API")
    parser.add_argument("--only", default="", help="comma-separated packages to treat (default: every checked one)")
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    args = parser.parse_args(argv)
    packages = tuple(p for p in args.only.split(",") if p) or CHECKED
    found = 0
    for path in _files(args.paths):
        if args.check:
            for lineno, module, _ in problems(path, packages):
                found += 1
                print(f"{path.relative_to(ROOT)}:{lineno}: imports {module}")
        else:
            for item in rewrite(path, packages):
                print(f"{path.relative_to(ROOT)}: left (not exported): {item}")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
