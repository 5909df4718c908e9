"""The agent's outbox: labels and daily counts waiting for HQ, one file per item.

``<state>/sync/outbox/<hash of item id>.json``, each written atomically
(temporary file, fsync, rename). An item leaves the folder only after HQ
has answered that it holds it, so a crash or an offline week loses nothing;
a resend after a lost answer is harmless because HQ stores an item id once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sync.bundle import atomic_write_bytes
from sync.messages import IntakeItem
from sync.status import sync_dir

_LOG = logging.getLogger(__name__)
_ITEM = TypeAdapter(IntakeItem)


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    queued_ns: int = Field(description="When it was queued (orders the sending).")
    item: IntakeItem


class Outbox:
    """Items queued on disk until HQ confirms them.

    Args:
        state_dir: The kiosk's state directory.
    """

    def __init__(self, state_dir: Path) -> None:
        self.folder = sync_dir(state_dir) / "outbox"

    def _path(self, item_id: str) -> Path:
        return self.folder / f"{hashlib.sha256(item_id.encode()).hexdigest()[:40]}.json"

    def put(self, item: IntakeItem, now_ns: int | None = None) -> bool:
        """Queue ``item`` unless an item of the same id waits already; True when queued."""
        path = self._path(item.item_id)
        if path.exists():
            return False
        entry = _Entry(queued_ns=time.time_ns() if now_ns is None else now_ns, item=item)
        atomic_write_bytes(path, entry.model_dump_json().encode())
        return True

    def pending(self) -> list[IntakeItem]:
        """Every waiting item, oldest first. Unreadable files are set aside in ``bad/``."""
        entries: list[tuple[int, str, IntakeItem]] = []
        if not self.folder.is_dir():
            return []
        for path in self.folder.glob("*.json"):
            try:
                entry = _Entry.model_validate_json(path.read_bytes())
            except (OSError, ValidationError) as err:
                _LOG.warning("outbox item %s unreadable, set aside: %s", path.name, err)
                self.set_aside(path)
                continue
            entries.append((entry.queued_ns, path.name, entry.item))
        return [item for _, _, item in sorted(entries, key=lambda e: (e[0], e[1]))]

    def set_aside(self, path_or_id: Path | str) -> None:
        """Move an item HQ will never take (or a damaged file) to ``bad/`` for a person to look at."""
        path = path_or_id if isinstance(path_or_id, Path) else self._path(path_or_id)
        bad = self.folder / "bad"
        bad.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, bad / path.name)
        except FileNotFoundError:
            return

    def done(self, item_ids: tuple[str, ...] | list[str]) -> None:
        """Drop items HQ confirmed."""
        for item_id in item_ids:
            self._path(item_id).unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0


def item_json(item: IntakeItem) -> bytes:
    """An item as JSON (as it goes in a batch)."""
    return _ITEM.dump_json(item)
