"""The kiosk's sync agent: refresh, download, install, check, activate, watch, roll back.

One cycle (:meth:`SyncAgent.sync_once`):

1. recover from a crash (drop staging folders and temporary links);
2. refresh TUF metadata; list the targets meant for this kiosk;
3. for each bundle whose version differs from the active one: download with
   resume into ``sync/partial/``, verify, unpack into ``sync/staging/``,
   install into ``bundles/<name>/<version>/``, run its health check;
4. journal the switch, flip ``active/<name>`` atomically, start the health
   window; :meth:`SyncAgent.watch` confirms (and prunes) or rolls back.

Killed at any point, the state on disk is the old version or the new one:
the only switch is one ``os.replace`` of a symlink.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bundles import (
    activate,
    active_manifest,
    active_root,
    bundles_root,
    install_unpacked,
    installed_dir,
    read_runtime_report,
    record_event,
    request_now_path,
    sync_dir,
    unpack_bundle,
    verify_bundle,
)
from sync.agent.config import AgentConfig, AgentState, edit_state, load_state, trusted_root_path
from sync.agent.identity import DeviceSigner
from sync.agent.rollback import roll_back_to
from sync.agent.timing import HealthWindow, PollSchedule
from sync.agent.uplink import Uplink
from sync.errors import (
    ActivationError,
    BundleError,
    RepositoryRejectedError,
    StorageError,
    SyncError,
    TransportError,
)
from sync.fetch import FetchLimits
from sync.targeting import BundleTarget, is_targeted

if TYPE_CHECKING:
    from tuf.api.metadata import TargetFile

    from sync.tufclient import TufClient

_LOG = logging.getLogger(__name__)

HealthCheck = Callable[[Path], None]
"""Loads a bundle directory and runs its golden cases; raises on any failure."""

STEPS = ("downloaded", "unpacked", "installed", "checked", "journaled", "activated", "confirmed")


@dataclass(frozen=True)
class CycleResult:
    """What one sync cycle did."""

    ok: bool
    activated: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    error: str = ""
    fetched_bytes: int = 0


@dataclass
class SyncAgent:
    """The sync agent of one kiosk.

    Args:
        state_dir: The kiosk's state directory.
        config: How to reach HQ and who this kiosk is.
        checkers: Health check per bundle kind; kinds without one get a
            manifest verification only.
        on_step: Called with each step name of :data:`STEPS` (progress, tests).
    """

    state_dir: Path
    config: AgentConfig
    checkers: Mapping[str, HealthCheck] = field(default_factory=dict)
    on_step: Callable[[str, str], None] | None = None

    @property
    def db_path(self) -> Path:
        """The kiosk's SQLite database (history)."""
        return self.state_dir / "kiosk.db"

    def _step(self, step: str, name: str) -> None:
        if self.on_step is not None:
            self.on_step(step, name)

    def _event(self, event: str, name: str = "", version: str = "", ok: bool = True, detail: str = "") -> None:
        try:
            record_event(self.db_path, event, name=name, version=version, ok=ok, detail=detail)
        except OSError as err:  # the history must never stop an update
            _LOG.warning("cannot record sync event: %s", err)

    # -- crash recovery ---------------------------------------------------------------------

    def recover(self) -> None:
        """Remove leftovers of an interrupted cycle and settle a stale journal."""
        shutil.rmtree(sync_dir(self.state_dir) / "staging", ignore_errors=True)
        root = bundles_root(self.state_dir)
        if root.is_dir():
            for name_dir in root.iterdir():
                for leftover in name_dir.glob(".staging-*"):
                    shutil.rmtree(leftover, ignore_errors=True)
        links = active_root(self.state_dir)
        if links.is_dir():
            for tmp in links.glob(".*"):
                tmp.unlink(missing_ok=True)
        with edit_state(self.state_dir) as state:
            for name, bundle in state.bundles.items():
                if not bundle.pending:
                    continue
                active = active_manifest(self.state_dir, name)
                if active is None or active.version != bundle.pending:
                    # Killed between the journal and the switch: the old version is active.
                    bundle.pending, bundle.activated_at = "", 0.0

    # -- one cycle --------------------------------------------------------------------------

    def _client(self) -> TufClient:
        from sync.tufclient import TufClient

        limits = FetchLimits(
            connect_timeout_s=self.config.connect_timeout_s,
            read_timeout_s=self.config.read_timeout_s,
            total_timeout_s=self.config.total_timeout_s,
        )
        return TufClient(
            self.state_dir / "tuf",
            self.config.metadata_url,
            bootstrap=trusted_root_path(self.state_dir).read_bytes(),
            limits=limits,
        )

    def sync_once(self) -> CycleResult:
        """Refresh metadata and install what changed. Never raises for network or data problems."""
        self.recover()
        state = load_state(self.state_dir)
        try:
            client = self._client()
            client.refresh()
            wanted = self._wanted(client, state)
        except (TransportError, RepositoryRejectedError, OSError) as err:
            with edit_state(self.state_dir) as locked:
                locked.last_error = str(err)
            self._event("check", ok=False, detail=str(err))
            return CycleResult(ok=False, error=str(err))
        with edit_state(self.state_dir) as locked:
            locked.last_check, locked.last_error = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), ""
        self._event("check", detail=f"{len(wanted)} update(s)")
        activated, rejected, fetched, errors = [], [], 0, []
        for target, info in wanted:
            try:
                fetched += self._install_one(client, target, info)
                activated.append(f"{target.name}={target.version}")
            except OSError as err:  # the kiosk's own disk, not the bundle: try again next cycle
                errors.append(f"{target.name} {target.version}: local storage failed: {err}")
                self._event("install", target.name, target.version, ok=False, detail=str(err))
            except (RepositoryRejectedError, BundleError, ActivationError, SyncError) as err:
                if isinstance(err, (TransportError, StorageError)):
                    errors.append(str(err))
                    self._event("download", target.name, target.version, ok=False, detail=str(err))
                    continue
                rejected.append(f"{target.name}={target.version}")
                self._reject(target.name, target.version, str(err))
        return CycleResult(
            ok=not errors,
            activated=tuple(activated),
            rejected=tuple(rejected),
            error="; ".join(errors),
            fetched_bytes=fetched,
        )

    def _wanted(self, client: TufClient, state: AgentState) -> list[tuple[BundleTarget, TargetFile]]:
        wanted: list[tuple[BundleTarget, TargetFile]] = []
        for path in client.target_paths():
            info = client.target_info(path)
            if info is None:
                continue
            target = BundleTarget.from_custom(path, info.custom or {})
            if target.revoked and target.channel == self.config.channel:
                self._withdraw(target)
            if not is_targeted(
                target, kiosk_id=self.config.kiosk_id, branch=self.config.branch, channel=self.config.channel
            ):
                continue
            active = active_manifest(self.state_dir, target.name)
            bundle = state.bundles.get(target.name)
            if active is not None and active.version == target.version:
                continue
            if bundle is not None and (target.version in bundle.rejected or target.version in bundle.held):
                continue
            wanted.append((target, info))
        # A policy first: a new policy answers the old model's intents, a new model's added intent needs the policy.
        wanted.sort(key=lambda pair: pair[0].kind != "policy")
        return wanted

    def _withdraw(self, target: BundleTarget) -> None:
        """Go back to the previous version on disk when HQ revoked the active one (a fleet rollback).

        Without a previous version on disk the kiosk keeps the active one until HQ's
        target (the version it restored) is installed like any update.
        """
        active = active_manifest(self.state_dir, target.name)
        if active is None or active.version not in target.revoked:
            return
        bundle = load_state(self.state_dir).bundles.get(target.name)
        previous = bundle.previous if bundle is not None else ""
        on_disk = bool(previous) and installed_dir(self.state_dir, target.name, previous).is_dir()
        if not on_disk or previous in target.revoked:
            _LOG.warning("HQ revoked %s %s and no previous version is on disk", target.name, active.version)
            return
        roll_back_to(self.state_dir, target.name, previous, by=f"HQ (revoked {active.version})")

    def _install_one(self, client: TufClient, target: BundleTarget, info: TargetFile) -> int:
        fetched = 0
        installed = installed_dir(self.state_dir, target.name, target.version)
        manifest = None
        if installed.exists():
            try:
                manifest = verify_bundle(installed)
            except BundleError:
                _LOG.debug("%s %s installed but damaged: fetching it again", target.name, target.version)
        if manifest is None:
            result = client.download(info, self.config.targets_url, sync_dir(self.state_dir) / "partial")
            fetched = result.fetched_bytes
            self._event("download", target.name, target.version, detail=f"{result.fetched_bytes} bytes")
            self._step("downloaded", target.name)
            staging, manifest = unpack_bundle(
                result.path, sync_dir(self.state_dir) / "staging", max_total=self.config.max_unpacked_bytes
            )
            self._step("unpacked", target.name)
            if (manifest.name, manifest.version, manifest.kind) != (target.name, target.version, target.kind):
                shutil.rmtree(staging, ignore_errors=True)
                raise RepositoryRejectedError(
                    f"archive holds {manifest.name} {manifest.version} ({manifest.kind}), "
                    f"metadata says {target.name} {target.version} ({target.kind})"
                )
            install_unpacked(staging, manifest, self.state_dir)  # a rename: hashed once, while unpacking
            result.path.unlink(missing_ok=True)
            self._event("install", target.name, target.version)
            self._step("installed", target.name)
        self._check(manifest.kind, installed, verify=False)  # just hashed (unpacked or verified above)
        self._step("checked", target.name)
        with edit_state(self.state_dir) as state:
            bundle = state.bundle(target.name)
            active = active_manifest(self.state_dir, target.name)
            bundle.previous = active.version if active is not None else ""
            bundle.current = target.version
            bundle.pending, bundle.activated_at = target.version, time.time()
            bundle.held = []  # HQ published another version: a staff hold ends
        self._step("journaled", target.name)
        activate(self.state_dir, target.name, target.version)
        self._step("activated", target.name)
        self._event("activated", target.name, target.version, detail=f"previous {bundle.previous or '-'}")
        return fetched

    def _check(self, kind: str, directory: Path, *, verify: bool = True) -> None:
        checker = self.checkers.get(kind)
        try:
            if verify:
                verify_bundle(directory)
            if checker is not None:
                checker(directory)
        except Exception as err:  # any failure of a health check rejects the bundle
            raise SyncError(f"health check failed: {type(err).__name__}: {err}") from err

    def _reject(self, name: str, version: str, reason: str) -> None:
        _LOG.warning("bundle %s %s rejected: %s", name, version, reason)
        with edit_state(self.state_dir) as state:
            bundle = state.bundle(name)
            if version not in bundle.rejected:
                bundle.rejected.append(version)
            active = active_manifest(self.state_dir, name)
            if active is None or active.version != version:
                shutil.rmtree(installed_dir(self.state_dir, name, version), ignore_errors=True)
        self._event("rejected", name, version, ok=False, detail=reason)

    # -- after activation -------------------------------------------------------------------

    def watch(self, now: float | None = None) -> list[str]:
        """Advance the health windows; confirm or roll back. Returns what happened."""
        now = time.time() if now is None else now
        window = HealthWindow(self.config.health_window_s)
        done: list[str] = []
        for name in list(load_state(self.state_dir).bundles):
            state = load_state(self.state_dir)
            bundle = state.bundle(name)
            if not bundle.pending:
                continue
            report = read_runtime_report(self.state_dir, name)
            failed = report is not None and report.version == bundle.pending and not report.ok
            verdict = window.verdict(now - bundle.activated_at, failed=failed)
            if verdict == "passed":
                active = active_manifest(self.state_dir, name)
                try:
                    if active is None:
                        raise SyncError("no active version")
                    # Hashed when it was unpacked; the window re-runs the load and golden check only.
                    self._check(active.kind, installed_dir(self.state_dir, name, bundle.pending), verify=False)
                except SyncError as err:
                    verdict, report_detail = "failed", str(err)
                else:
                    report_detail = ""
            else:
                report_detail = report.detail if report is not None else ""
            if verdict == "failed":
                self._rollback(name, reason=f"failed in its health window: {report_detail}")
                done.append(f"rolled back {name} {bundle.pending}")
            elif verdict == "passed":
                with edit_state(self.state_dir) as locked:
                    if locked.bundle(name).pending != bundle.pending:
                        continue  # staff rolled back meanwhile
                    locked.bundle(name).pending, locked.bundle(name).activated_at = "", 0.0
                self._step("confirmed", name)
                self._prune(name, keep={bundle.current, bundle.previous})
                self._event("confirmed", name, bundle.current)
                done.append(f"confirmed {name} {bundle.current}")
        return done

    def _rollback(self, name: str, *, reason: str) -> str:
        with edit_state(self.state_dir) as state:
            bundle = state.bundle(name)
            bad = bundle.current
            if not bundle.previous:
                raise ActivationError(f"{name}: no previous version to roll back to")
            activate(self.state_dir, name, bundle.previous)
            if bad and bad not in bundle.rejected:
                bundle.rejected.append(bad)
            bundle.current, bundle.previous = bundle.previous, ""
            bundle.pending, bundle.activated_at = "", 0.0
        self._event("rolled_back", name, bundle.current, ok=False, detail=f"from {bad}: {reason}")
        return bundle.current

    def rollback(self, name: str) -> str:
        """Switch ``name`` back to its previous version; the current one is held back.

        It is not reinstalled until HQ publishes another version (see :func:`roll_back_to`).

        Returns:
            The version now active.

        Raises:
            ActivationError: there is no previous version on disk.
        """
        previous = load_state(self.state_dir).bundle(name).previous
        if not previous:
            raise ActivationError(f"{name}: no previous version to roll back to")
        roll_back_to(self.state_dir, name, previous, by="staff (kiosk sync rollback)")
        return previous

    def _prune(self, name: str, keep: set[str]) -> None:
        folder = bundles_root(self.state_dir) / name
        active = active_manifest(self.state_dir, name)
        keep = {v for v in keep if v} | ({active.version} if active is not None else set())
        for version_dir in folder.iterdir() if folder.is_dir() else []:
            if version_dir.name not in keep and not version_dir.name.startswith("."):
                shutil.rmtree(version_dir, ignore_errors=True)

    # -- reporting and the loop -------------------------------------------------------------

    def uplink(self) -> Uplink:
        """Signed posts to HQ, and the outbox of labels and counts."""
        return Uplink(self.state_dir, DeviceSigner(self.state_dir, self.config.kiosk_id), self.config.uplink_url)

    def report(self, result: CycleResult | None = None) -> None:
        """POST this kiosk's versions and health to HQ, signed (best effort, short timeout)."""
        if not self.config.report_url:
            return
        state = load_state(self.state_dir)
        names = (
            sorted(p.name for p in active_root(self.state_dir).iterdir())
            if active_root(self.state_dir).is_dir()
            else []
        )
        versions = {}
        for name in names:
            if name.startswith("."):
                continue
            manifest = active_manifest(self.state_dir, name)
            if manifest is not None:
                versions[name] = manifest.version
        body = {
            "kiosk_id": self.config.kiosk_id,
            "branch": self.config.branch,
            "versions": versions,
            "healthy": not state.last_error and (result is None or result.ok),
            "last_error": state.last_error,
            # Rejected by a check or the health window, or rolled back by staff (held): HQ's rollouts halt on them.
            "rejected": {n: [*b.rejected, *b.held] for n, b in state.bundles.items() if b.rejected or b.held},
        }
        try:
            sent = self.uplink().post(self.config.report_url, json.dumps(body).encode(), time.time())
        except SyncError as err:
            _LOG.warning("status report not signed: %s", err)
            return
        if sent.status != 200:
            _LOG.info("status report not delivered: %s", sent.error or f"HTTP {sent.status} {sent.body[:200]!r}")

    def upload(self, now: float | None = None) -> dict[str, object]:
        """Queue new staff labels and finished days' counts, then send the outbox (best effort)."""
        if not self.config.uplink_url:
            return {"queued": 0, "sent": 0, "left": 0, "error": "no intake URL configured"}
        now = time.time() if now is None else now
        uplink = self.uplink()
        try:
            queued = uplink.collect(time.strftime("%Y-%m-%d", time.gmtime(now)))
        except (OSError, sqlite3.Error) as err:
            _LOG.warning("cannot read labels and counts: %s", err)
            queued = 0
        result = uplink.flush(now)
        if result["error"] and result["left"]:
            _LOG.info("%s item(s) wait for HQ: %s", result["left"], result["error"])
        return {"queued": queued, **result}

    def run(self, stop: threading.Event, *, rand: Callable[[], float] = random.random) -> None:
        """Poll until ``stop`` is set: sync on schedule or on request, watch windows, report."""
        schedule = PollSchedule(self.config.poll_s, self.config.jitter, self.config.max_backoff_s)
        next_poll = time.monotonic()
        request = request_now_path(self.state_dir)
        while not stop.is_set():
            requested = request.exists()
            if requested or time.monotonic() >= next_poll:
                request.unlink(missing_ok=True)
                result = self.sync_once()
                for line in result.activated:
                    _LOG.info("activated %s", line)
                self.report(result)
                self.upload()
                next_poll = time.monotonic() + schedule.next_delay(result.ok, rand())
            for line in self.watch():
                _LOG.info("%s", line)
            stop.wait(self.config.tick_s)
