"""What flows from the kiosk back to HQ: signed posts, staff labels and daily counts.

:class:`Uplink` reads new staff labels and finished days' counts from
``kiosk.db`` into the :class:`~sync.agent.outbox.Outbox` (a cursor remembers
how far it read), then sends the outbox to HQ in signed batches under the
body limit. Every post is signed by :class:`~sync.agent.identity.DeviceSigner`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.privacy import mask_pii
from sync.activation import active_manifest
from sync.agent.identity import DeviceSigner
from sync.agent.outbox import Outbox, item_json
from sync.bundle import atomic_write_bytes
from sync.errors import SyncError
from sync.messages import (
    MAX_LABEL_TEXT,
    CountsItem,
    DailyCount,
    IntakeItem,
    IntakeReceipt,
    LabelItem,
    OutcomeCounts,
)
from sync.status import sync_dir

_LOG = logging.getLogger(__name__)
MAX_BATCH_BYTES = 60 * 1024
"""A batch stays under HQ's 64 KiB body limit."""
MAX_BATCH_ITEMS = 200
CURSOR_VERSION = 1

_DECIDED = "(t.action NOT IN ('clarify', 'handoff', 'risk_alert') AND t.stage != 'fallback')"
_CLARIFIED = "(t.action = 'clarify')"
_HANDED_OFF = "(t.action IN ('handoff', 'risk_alert'))"
_RISK = "(t.action = 'risk_alert')"
_ELDERLY = "(COALESCE(s.elderly, 0) = 1)"
_COUNTS_SQL = f"""
SELECT substr(t.at, 1, 10) AS day, t.lang AS lang, t.intent AS intent, COUNT(*) AS turns,
    SUM({_DECIDED}) AS decided, SUM({_CLARIFIED}) AS clarified, SUM({_HANDED_OFF}) AS handed_off,
    SUM({_RISK}) AS risk_alerts,
    SUM({_ELDERLY}) AS e_turns, SUM({_ELDERLY} AND {_DECIDED}) AS e_decided,
    SUM({_ELDERLY} AND {_CLARIFIED}) AS e_clarified, SUM({_ELDERLY} AND {_HANDED_OFF}) AS e_handed_off,
    SUM({_ELDERLY} AND {_RISK}) AS e_risk_alerts
FROM turns t LEFT JOIN sessions s ON s.id = t.session_id
WHERE substr(t.at, 1, 10) > ? AND substr(t.at, 1, 10) < ?
GROUP BY day, t.lang, t.intent ORDER BY day, t.lang, t.intent
"""  # noqa: S608 - fixed fragments, no input


class UplinkCursor(BaseModel):
    """``<state>/sync/uplink.json``: how far the agent has read ``kiosk.db``."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = Field(default=CURSOR_VERSION, description="Format version.")
    label_at: str = Field(default="", description="Time of the newest label queued.")
    label_ids_at: list[str] = Field(default_factory=list, description="Items queued at exactly label_at.")
    counts_through: str = Field(default="", description="Last day whose counts were queued.")


@dataclass(frozen=True, slots=True)
class PostResult:
    """HQ's answer to a signed post (status 0: not reached)."""

    status: int
    body: bytes = b""
    error: str = ""


class Uplink:
    """Collects and sends this kiosk's labels and counts.

    Args:
        state_dir: The kiosk's state directory.
        signer: Signs each post.
        intake_url: HQ's ``/api/intake``; empty: nothing is sent (items wait).
        timeout_s: Connect and read timeout of one post.
    """

    def __init__(self, state_dir: Path, signer: DeviceSigner, intake_url: str = "", timeout_s: float = 5.0) -> None:
        self.state_dir = state_dir
        self.signer = signer
        self.intake_url = intake_url
        self.timeout_s = timeout_s
        self.outbox = Outbox(state_dir)

    # -- signed posts -----------------------------------------------------------------------

    def post(self, url: str, body: bytes, now: float) -> PostResult:
        """POST ``body`` to ``url`` signed; never raises for network trouble.

        Raises:
            SyncError: this kiosk has no usable device key.
        """
        import urllib3

        envelope = self.signer.seal(urlsplit(url).path or "/", body, now)
        headers = {"Content-Type": "application/json", **envelope.headers()}
        try:
            response = urllib3.request(
                "POST",
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(connect=self.timeout_s, read=self.timeout_s),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as err:
            return PostResult(0, error=str(err))
        return PostResult(response.status, response.data)

    # -- collecting -------------------------------------------------------------------------

    def _cursor_path(self) -> Path:
        return sync_dir(self.state_dir) / "uplink.json"

    def cursor(self) -> UplinkCursor:
        """The read position (empty when missing or unreadable: items are then re-read, HQ dedups)."""
        try:
            return UplinkCursor.model_validate_json(self._cursor_path().read_bytes())
        except (OSError, ValidationError):
            return UplinkCursor()

    def collect(self, today: str) -> int:
        """Queue labels added since the last call and the counts of finished days before ``today`` (UTC).

        Items are on disk before the cursor moves, so a crash in between re-reads (HQ dedups).
        Returns how many items were queued.
        """
        db_path = self.state_dir / "kiosk.db"
        if not db_path.is_file():
            return 0
        cursor = self.cursor()
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            labels = self._new_labels(conn, cursor) if "review_labels" in tables else []
            counts = self._finished_days(conn, cursor, today) if {"turns", "sessions"} <= tables else []
        finally:
            conn.close()
        queued = 0
        items: list[IntakeItem] = [*labels, *counts]
        for item in items:
            queued += self.outbox.put(item)
        if labels:
            last = labels[-1].labelled_at
            same = [i.item_id for i in labels if i.labelled_at == last]
            cursor.label_ids_at = sorted(set(same) | (set(cursor.label_ids_at) if last == cursor.label_at else set()))
            cursor.label_at = last
        if counts:
            cursor.counts_through = counts[-1].day
        if labels or counts:
            atomic_write_bytes(self._cursor_path(), cursor.model_dump_json(indent=2).encode())
        return queued

    def _new_labels(self, conn: sqlite3.Connection, cursor: UplinkCursor) -> list[LabelItem]:
        policy = active_manifest(self.state_dir, "policy")
        model = active_manifest(self.state_dir, "nlu")
        rows = conn.execute(
            "SELECT turn_id, text, lang, intent, at FROM review_labels WHERE at >= ? ORDER BY at, turn_id",
            (cursor.label_at,),
        ).fetchall()
        items = []
        for r in rows:
            item_id = f"label-{r['turn_id']}-{r['at']}"
            if r["at"] == cursor.label_at and item_id in cursor.label_ids_at:
                continue
            text = mask_pii(str(r["text"]))[:MAX_LABEL_TEXT].strip()
            if not text:
                continue
            items.append(
                LabelItem(
                    item_id=item_id,
                    text=text,
                    lang="en" if r["lang"] == "en" else "zh",
                    intent=r["intent"],
                    policy_version=policy.version if policy is not None else "",
                    model_version=model.version if model is not None else "",
                    labelled_at=r["at"],
                )
            )
        return items

    @staticmethod
    def _finished_days(conn: sqlite3.Connection, cursor: UplinkCursor, today: str) -> list[CountsItem]:
        by_day: dict[str, list[DailyCount]] = {}
        for r in conn.execute(_COUNTS_SQL, (cursor.counts_through, today)):
            by_day.setdefault(r["day"], []).append(
                DailyCount(
                    lang=str(r["lang"])[:8],
                    intent=str(r["intent"])[:64],
                    turns=r["turns"],
                    decided=r["decided"] or 0,
                    clarified=r["clarified"] or 0,
                    handed_off=r["handed_off"] or 0,
                    risk_alerts=r["risk_alerts"] or 0,
                    elderly=OutcomeCounts(
                        turns=r["e_turns"] or 0,
                        decided=r["e_decided"] or 0,
                        clarified=r["e_clarified"] or 0,
                        handed_off=r["e_handed_off"] or 0,
                        risk_alerts=r["e_risk_alerts"] or 0,
                    ),
                )
            )
        return [CountsItem(item_id=f"counts:{day}", day=day, rows=tuple(rows)) for day, rows in sorted(by_day.items())]

    # -- sending ----------------------------------------------------------------------------

    def flush(self, now: float) -> dict[str, Any]:
        """Send the outbox in batches until it is empty or HQ cannot be reached.

        A batch HQ refuses as malformed is resent one item at a time; an item
        refused on its own is set aside (``outbox/bad/``) so it cannot block the rest.

        Returns:
            ``sent`` (items HQ now holds), ``left`` (still queued), ``error`` (why it stopped).
        """
        if not self.intake_url:
            return {"sent": 0, "left": len(self.outbox), "error": "no intake URL"}
        sent, error = 0, ""
        pending = self.outbox.pending()
        while pending and not error:
            batch = _batch(pending)
            result = self._send(batch, now)
            if result == "refused":
                batch = batch[:1]
                result = self._send(batch, now)
                if result == "refused":
                    _LOG.warning("HQ refuses item %s; set aside", batch[0].item_id)
                    self.outbox.set_aside(batch[0].item_id)
                    pending = pending[1:]
                    continue
            if isinstance(result, str):
                error = result
                break
            held = (set(result.stored) | set(result.duplicates)) & {i.item_id for i in batch}
            if not held:
                error = "HQ confirmed none of the batch"
                break
            self.outbox.done(sorted(held))
            sent += len(held)
            pending = [i for i in pending if i.item_id not in held]
        return {"sent": sent, "left": len(self.outbox), "error": error}

    def _send(self, batch: list[IntakeItem], now: float) -> IntakeReceipt | str:
        body = b'{"items":[' + b",".join(item_json(i) for i in batch) + b"]}"
        try:
            result = self.post(self.intake_url, body, now)
        except SyncError as err:
            return str(err)
        if result.status == 200:
            try:
                return IntakeReceipt.model_validate_json(result.body)
            except ValidationError as err:
                return f"bad receipt from HQ: {err.error_count()} error(s)"
        if result.status in (400, 422):
            return "refused"
        detail = result.error or _detail(result.body)
        return f"HQ answered {result.status}: {detail}" if result.status else f"HQ not reached: {detail}"


def _batch(pending: list[IntakeItem]) -> list[IntakeItem]:
    batch: list[IntakeItem] = []
    size = 16
    for item in pending[:MAX_BATCH_ITEMS]:
        size += len(item_json(item)) + 1
        if batch and size > MAX_BATCH_BYTES:
            break
        batch.append(item)
    return batch


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")
