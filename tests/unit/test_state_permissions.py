"""State files are readable by the kiosk's own user only."""

from __future__ import annotations

import stat
from pathlib import Path

from kiosk.storage import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_database_and_its_folder_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = Store(state / "kiosk.db")
    store.start_session("s1", "zh")
    try:
        assert _mode(state) == 0o700
        for name in ("kiosk.db", "kiosk.db-wal", "kiosk.db-shm"):
            assert _mode(state / name) == 0o600, name
    finally:
        store.close()


def test_existing_world_readable_database_is_tightened_at_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    Store(state / "kiosk.db").close()
    state.chmod(0o755)
    (state / "kiosk.db").chmod(0o644)
    store = Store(state / "kiosk.db")
    try:
        assert _mode(state) == 0o700
        assert _mode(state / "kiosk.db") == 0o600
    finally:
        store.close()
