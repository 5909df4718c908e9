"""The rooms and what each may import (docs/architecture.md): lower layers never import higher ones.

The known exceptions are listed by name: they are debts to pay, and a new one fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("statedb", "bundles", "edge_models", "hardware", "avatar", "sync", "kiosk")
# What each package may import from the project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "statedb": set(),
    "bundles": {"statedb"},
    "edge_models": {"bundles"},
    "hardware": {"edge_models"},
    "avatar": {"edge_models", "hardware"},
    "sync": {"bundles", "statedb", "edge_models"},
    "kiosk": set(PACKAGES),
}
# Known debts (module -> project module it imports against the rule).
EXCEPTIONS = {
    ("edge_models.build.retrain", "kiosk"),  # the HQ factory reads the policy's intent set
    ("edge_models.build.gates", "kiosk"),
    ("edge_models.build.train_intent", "kiosk"),
    ("edge_models.intent_set", "kiosk"),
    ("edge_models.build", "sync"),  # the factory writes manifests through the old sync names
    ("sync.hq", "kiosk"),  # HQ operators' sign-in reuses the admin page's accounts and masking
    ("sync.agent.uplink", "kiosk"),  # labels are masked again before upload with the kiosk's masker
}
# The dialogue brain does no I/O.
DIALOGUE_FORBIDDEN = {
    "sqlite3",
    "fastapi",
    "pygame",
    "urllib3",
    "httpx",
    "socket",
    "subprocess",
    "kiosk.store",
    "kiosk.runtime",
    "kiosk.web",
    "kiosk.admin",
    "kiosk.cli",
    "sync",
    "hardware",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out.append((".".join(path.relative_to(ROOT).with_suffix("").parts), path))
    return out


def _excused(module: str, target: str) -> bool:
    return any(module.startswith(prefix) and target == top for prefix, top in EXCEPTIONS)


def test_lower_layers_never_import_higher_ones() -> None:
    broken = []
    for module, path in _modules():
        own = module.split(".")[0]
        for name in _imports(path):
            top = name.split(".")[0]
            if top in PACKAGES and top != own and top not in ALLOWED[own] and not _excused(module, top):
                broken.append(f"{module} imports {name}")
    assert not broken, "\n".join(broken)


def test_the_dialogue_brain_does_no_io() -> None:
    broken = []
    for module, path in _modules():
        if module.startswith("kiosk.dialogue"):
            for name in _imports(path):
                if any(name == bad or name.startswith(bad + ".") for bad in DIALOGUE_FORBIDDEN):
                    broken.append(f"{module} imports {name}")
    assert not broken, "\n".join(broken)


def test_only_the_cli_imports_the_cli() -> None:
    users = [
        m
        for m, p in _modules()
        if not m.startswith("kiosk.cli") and any(n == "kiosk.cli" or n.startswith("kiosk.cli.") for n in _imports(p))
    ]
    assert not users, users
