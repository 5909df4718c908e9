"""What keeps two rollout commands from undoing each other: one lock, conditional transitions, own staging.

Every rollout mutation (start, a controller step, rollback) and its publish runs
under :func:`rollout_lock`, an ``fcntl.flock`` on ``HOME/rollout.lock`` (every
:meth:`HqRepository.publish` takes it too, an operator's included): a
``kiosk hq serve --advance-every-s`` thread, a cron ``advance`` and an operator's
``rollback`` take turns, across processes and threads. A second line of defence
for a writer that did not take it: :func:`transition` changes a rollout's row
only if it is still as the command read it (``WHERE id=? AND state=? AND
stage=?``) and runs the publish inside that same transaction, so a command that
lost the race publishes nothing, and a publish that fails leaves the row as it
was. :func:`own_staging` stages a rollout's change beside the operator's staged
targets, so its publish carries only the rollout's targets.
Why: ``docs/adr/0019-staged-rollout.md`` ("Concurrent commands").
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from sync.errors import HqError
from sync.hq.db import HqDB
from sync.hq.schema import rollouts

if TYPE_CHECKING:
    from sync.hq.repository import HqRepository

__all__ = ["LOCK_WAIT_S", "RolloutBusyError", "own_staging", "rollout_lock", "transition"]

LOCK_WAIT_S = 30.0  # how long a rollout command waits for another one before it gives up
_HELD = threading.local()  # lock path -> depth, per thread: a command may call another under the lock


class RolloutBusyError(HqError):
    """Another rollout command held the lock for longer than this one would wait."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@contextmanager
def rollout_lock(home: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold HQ's rollout lock (``HOME/rollout.lock``), waiting at most ``wait_s`` seconds for it.

    Re-entrant within a thread. Other threads and processes wait.

    Raises:
        RolloutBusyError: another command still held it after ``wait_s``.
    """
    path = (home / "rollout.lock").resolve()
    depth: dict[Path, int] = _HELD.__dict__.setdefault("depth", {})
    if depth.get(path):
        depth[path] += 1
        try:
            yield
        finally:
            depth[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    raise RolloutBusyError(
                        f"another rollout command (pid {holder}) holds {path}; waited {wait_s:g} s: try again"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        depth[path] = 1
        try:
            yield
        finally:
            depth[path] = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def transition(
    db: HqDB, rollout_id: int, now: datetime, when: Mapping[str, Any], **values: Any
) -> Iterator[Connection | None]:
    """Change a rollout's row only while it is still as read (``when``: column -> value).

    Yields the open transaction when the row changed (publish inside it: a failing publish
    rolls the change back), or None when another command changed the row first: then
    publish nothing.

    Raises:
        HqStoreError: the store failed (nothing changed).
    """
    with db.transaction() as conn:
        query = rollouts.update().where(rollouts.c.id == rollout_id)
        for column, value in when.items():
            query = query.where(rollouts.c[column] == value)
        if conn.execute(query.values(updated_at=_iso(now), **values)).rowcount != 1:
            yield None
            return
        yield conn


@contextmanager
def own_staging(repo: HqRepository) -> Iterator[HqRepository]:
    """The repository staging in ``staged/rollout.json``, left empty after (a failed command's change is dropped).

    Publish it with :func:`publish_own`: the operator's staged, unpublished changes stay staged
    and out of the publish.
    """
    own = repo.beside("rollout")
    own.staging.unlink(missing_ok=True)  # what an interrupted command left
    try:
        yield own
    finally:
        own.staging.unlink(missing_ok=True)


def publish_own(repo: HqRepository, own: HqRepository) -> None:
    """Publish what ``own`` (from :func:`own_staging`) staged, and carry it into the operator's staging.

    Raises:
        HqError: a signing key is missing.
    """
    before = repo.published_targets()
    own.publish()
    repo.carry_over(before, repo.published_targets())
