"""The rooms and what each may import (docs/architecture.md): lower layers never import higher ones,
and a package's ``__init__`` is its API.

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
# Known debts (module -> project module it imports against the rule), matched as dotted prefixes:
# ("sync.hq.db", "kiosk.privacy") excuses sync.hq.db and its submodules importing kiosk.privacy[.*] only.
EXCEPTIONS = {
    ("edge_models.build.retrain", "kiosk"),  # the HQ factory reads the policy's intent set
    ("edge_models.build.train_intent", "kiosk"),
    ("edge_models.build", "sync"),  # the factory writes manifests through the old sync names
    ("sync.hq.db", "kiosk.privacy"),  # HQ's store masks labels again with the kiosk's masker
    ("sync.hq.db", "kiosk.storage"),  # and tightens its file's mode as the kiosk does
    ("sync.hq.operators", "kiosk.admin"),  # HQ operators' sign-in reuses the admin page's accounts
    ("sync.hq.console", "kiosk.admin"),
    ("sync.agent.uplink", "kiosk.privacy"),  # labels are masked again before upload with the kiosk's masker
    # HQ's commands (sync/hq_cli/): `train` reads the policy bundle with the kiosk's loader, intent set and
    # shipped default (as the HQ factory does); `add-user` makes the admin page's accounts.
    ("sync.hq_cli.train", "kiosk.config"),
    ("sync.hq_cli.train", "kiosk.intents"),
    ("sync.hq_cli.train", "kiosk.policy"),
    ("sync.hq_cli.commands", "kiosk.admin"),
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
    "kiosk.storage",
    "kiosk.assembly",
    "kiosk.conversation",
    "kiosk.llm",
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


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _excused(module: str, name: str) -> bool:
    return any(_within(module, importer) and _within(name, target) for importer, target in EXCEPTIONS)


def test_lower_layers_never_import_higher_ones() -> None:
    broken = []
    for module, path in _modules():
        own = module.split(".")[0]
        for name in _imports(path):
            top = name.split(".")[0]
            if top in PACKAGES and top != own and top not in ALLOWED[own] and not _excused(module, name):
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
        f"{m} imports {n}"
        for m, p in _modules()
        if not _within(m, "kiosk.cli")
        for n in _imports(p)
        if _within(n, "kiosk.cli")
    ]
    assert not users, users


def test_the_exceptions_are_still_needed() -> None:
    used = set()
    for module, path in _modules():
        for name in _imports(path):
            used |= {(m, t) for m, t in EXCEPTIONS if _within(module, m) and _within(name, t)}
    assert not EXCEPTIONS - used, f"paid debts still listed: {sorted(EXCEPTIONS - used)}"


# Packages whose ``__init__`` is their API: code outside one imports only the names its ``__all__``
# exports. The list is the one scripts/api_imports.py rewrites imports for (read from it, not copied).
def _api_packages() -> tuple[str, ...]:
    script = ast.parse((ROOT / "scripts" / "api_imports.py").read_text(encoding="utf-8"))
    for node in script.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CHECKED" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("scripts/api_imports.py has no CHECKED list")


API_PACKAGES = _api_packages()
# Not checked, and why (each still has ``__all__``).
API_UNCHECKED = {
    "edge_models": "adapters over heavy libraries (onnxruntime, llama.cpp, whisper, mediapipe) imported lazily, "
    "module by module, so an import of the package loads none of them",
    "avatar": "the renderer (pygame) is imported lazily by module",
    "sync": "its top-level modules keep the old names of bundles/ for the HQ factory",
    "kiosk.cli": "a front door: nothing imports it",
}
# Known debts (importing module -> package whose submodule it imports): none left; a new one fails.
API_EXCEPTIONS: set[tuple[str, str]] = set()


def _all_of(init: Path) -> set[str] | None:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                return {str(name) for name in ast.literal_eval(node.value)}
    return None


def _packages() -> dict[str, Path]:
    return {
        ".".join(init.parent.relative_to(ROOT).parts): init
        for package in PACKAGES
        for init in sorted((ROOT / package).rglob("__init__.py"))
    }


def test_every_package_names_its_api_in_all() -> None:
    missing = [name for name, init in _packages().items() if _all_of(init) is None]
    assert not missing, f"packages without __all__: {missing}"


def test_code_outside_a_package_imports_only_what_its_init_exports() -> None:
    packages = _packages()
    exported = {name: _all_of(packages[name]) or set() for name in API_PACKAGES if name in packages}
    broken = []
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                continue
            owners = [p for p in exported if node.module.startswith(p + ".")]
            if not owners:
                continue
            package = max(owners, key=len)
            inside = module == package or module.startswith(package + ".")
            if inside or (module, package) in API_EXCEPTIONS:
                continue
            broken.append(f"{module} imports {node.module} (use: from {package} import ...)")
    assert not broken, "\n".join(broken)


def test_the_api_lists_name_real_packages() -> None:
    packages = _packages()
    assert set(API_UNCHECKED) <= set(packages)
    assert not set(API_UNCHECKED) & set(API_PACKAGES)
    for name in API_PACKAGES:
        if name in packages:
            init = packages[name]
            module = ast.parse(init.read_text(encoding="utf-8"))
            bound = {a.asname or a.name for n in module.body if isinstance(n, ast.ImportFrom) for a in n.names}
            bound |= {
                t.id for n in module.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
            }
            assert (_all_of(init) or set()) <= bound, f"{name}.__all__ names something it does not import"


# The composition root builds the conversations and the runtime; nothing else in the product does.
COMPOSITION_ROOT = "kiosk.assembly.root"
BUILT_ONLY_BY_THE_ROOT = {"Conversations", "build_runtime"}


def test_only_the_composition_root_builds_the_conversations_and_the_runtime() -> None:
    builders = []
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in BUILT_ONLY_BY_THE_ROOT and module != COMPOSITION_ROOT:
                    builders.append(f"{module} calls {name}")
    assert not builders, "\n".join(builders)


# The rooms inside kiosk/ below the front doors, and which of them each may import (docs/architecture.md).
# The rooms above them (admin, voice, runtime, assembly, web, cli) may import these.
KIOSK_ROOMS: dict[str, set[str]] = {
    "privacy": set(),
    "idcard": set(),
    "intents": {"privacy"},
    "policy": {"intents"},
    "dialogue": {"intents", "policy"},
    "storage": {"dialogue", "privacy"},
    "llm": {"dialogue", "policy", "privacy", "storage"},
    "conversation": {"dialogue", "llm", "policy", "storage"},
}
# kiosk/ at the top: the package, its settings and the systemd notifier; everything else lives in a room.
KIOSK_TOP = {"__init__.py", "config.py", "sdnotify.py"}
MAX_LINES = 500


def test_the_rooms_inside_kiosk_import_only_the_rooms_below_them() -> None:
    broken = []
    for module, path in _modules():
        parts = module.split(".")
        if parts[0] != "kiosk" or len(parts) < 2 or parts[1] not in KIOSK_ROOMS:
            continue
        for name in _imports(path):
            target = name.split(".")
            other_room = target[0] == "kiosk" and len(target) > 1 and target[1] != parts[1]
            if other_room and target[1] not in KIOSK_ROOMS[parts[1]]:
                broken.append(f"{module} imports {name}")
    assert not broken, "\n".join(broken)


def test_kiosk_top_level_holds_only_the_package_its_settings_and_the_notifier() -> None:
    loose = {p.name for p in (ROOT / "kiosk").glob("*.py")} - KIOSK_TOP
    assert not loose, f"modules at the top of kiosk/ (move them into a room): {sorted(loose)}"


def test_no_module_is_over_500_lines() -> None:
    long = []
    for module, path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{module}: {lines} lines")
    assert not long, "\n".join(long)
