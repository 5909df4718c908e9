"""HQ's TUF repository: keys, bundles as targets, publishing, re-signing.

Layout of an HQ folder::

    hq.json                      settings (expiry per role)
    keys/<keyid>.pem             online keys (snapshot, timestamp)
    keys-offline/<keyid>.pem     root and targets keys: move them to offline media
    signed/<role>.json           the newest signed metadata of each role
    staged/targets.json          targets changed by ``add`` and not yet published
    public/metadata/             what clients fetch (N.root.json, N.targets.json,
                                 N.snapshot.json, timestamp.json)
    public/targets/<name>/<sha256>.<version>.tar   bundle archives

``public/`` is plain static files: any web server, object store or CDN can
serve it. Publishing writes new targets files first and ``timestamp.json``
last, so a client never sees metadata that names files not yet there.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.archive import pack_bundle
from sync.bundle import atomic_write_bytes
from sync.errors import BundleError, HqError
from sync.targeting import BundleTarget

if TYPE_CHECKING:
    from securesystemslib.signer import Signer
    from tuf.api.metadata import Metadata

ROLES = ("root", "targets", "snapshot", "timestamp")
OFFLINE_ROLES = ("root", "targets")
HQ_SCHEMA_VERSION = 1


class HqSettings(BaseModel):
    """Settings of an HQ repository (``hq.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=HQ_SCHEMA_VERSION, description="Format version of hq.json.")
    root_days: float = Field(default=365, gt=0, description="Validity of root metadata in days.")
    targets_days: float = Field(default=90, gt=0, description="Validity of targets metadata in days.")
    snapshot_days: float = Field(default=7, gt=0, description="Validity of snapshot metadata in days.")
    timestamp_days: float = Field(default=1, gt=0, description="Validity of timestamp metadata in days.")
    db_url: str = Field(
        default="",
        max_length=1000,
        description="HQ's store: a postgresql:// or sqlite:/// URL; empty for the embedded HOME/hq.db.",
    )

    def validity(self, role: str) -> timedelta:
        """How long a new version of ``role`` stays valid."""
        days: float = getattr(self, f"{role}_days")
        return timedelta(days=days)


@dataclass(frozen=True)
class RoleKeys:
    """How many keys a role has and how many must sign."""

    count: int = 1
    threshold: int = 1


@dataclass(frozen=True)
class PublishResult:
    """Versions written by a publish or a re-sign."""

    targets_version: int
    snapshot_version: int
    timestamp_version: int
    changed: bool


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class HqRepository:
    """An HQ repository on disk.

    Args:
        home: The HQ folder.
        offline_keys: Where the root and targets private keys are (default
            ``home/keys-offline``); needed only to publish new targets or roots.
    """

    def __init__(self, home: Path, *, offline_keys: Path | None = None) -> None:
        self.home = home
        self.offline_keys = offline_keys or home / "keys-offline"
        self.staging = home / "staged" / "targets.json"  # the operator's; a rollout stages beside it (:meth:`beside`)
        self.lock_wait_s: float | None = None  # how long staged changes wait for HQ's lock (None: the default)
        settings_path = home / "hq.json"
        if not settings_path.is_file():
            raise HqError(f"{home} is not an HQ repository (run `kiosk hq init` first)")
        try:
            self.settings = HqSettings.model_validate_json(settings_path.read_bytes())
        except ValidationError as err:
            raise HqError(f"{settings_path}: {err}") from err

    # -- layout ---------------------------------------------------------------------------

    @property
    def public(self) -> Path:
        """The static tree clients fetch."""
        return self.home / "public"

    @property
    def metadata_dir(self) -> Path:
        """Served metadata."""
        return self.public / "metadata"

    @property
    def targets_dir(self) -> Path:
        """Served bundle archives."""
        return self.public / "targets"

    def root_bytes(self) -> bytes:
        """The current signed root metadata: what kiosks are provisioned with."""
        return (self.home / "signed" / "root.json").read_bytes()

    # -- creating -------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        home: Path,
        *,
        keys: dict[str, RoleKeys] | None = None,
        settings: HqSettings | None = None,
        offline_keys: Path | None = None,
    ) -> HqRepository:
        """Create keys and version 1 of every role's metadata.

        Raises:
            HqError: ``home`` already holds a repository or a threshold is impossible.
        """
        from securesystemslib.signer import CryptoSigner
        from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp

        if (home / "hq.json").exists():
            raise HqError(f"{home} already holds an HQ repository")
        keys = {role: (keys or {}).get(role, RoleKeys()) for role in ROLES}
        for role, spec in keys.items():
            if not 1 <= spec.threshold <= spec.count:
                raise HqError(f"{role}: threshold {spec.threshold} needs 1..{spec.count} keys")
        settings = settings or HqSettings()
        offline = offline_keys or home / "keys-offline"
        home.mkdir(parents=True, exist_ok=True)
        root = Root(expires=_now() + settings.validity("root"), consistent_snapshot=True)
        for role, spec in keys.items():
            folder = offline if role in OFFLINE_ROLES else home / "keys"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for _ in range(spec.count):
                signer = CryptoSigner.generate_ed25519()
                root.add_key(signer.public_key, role)
                key_path = folder / f"{signer.public_key.keyid}.pem"
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(signer.private_bytes)
            root.roles[role].threshold = spec.threshold
        atomic_write_bytes(home / "hq.json", settings.model_dump_json(indent=2).encode())
        repo = cls(home, offline_keys=offline)
        repo._sign_and_write(Metadata(root))
        repo._sign_and_write(Metadata(Targets(expires=_now() + settings.validity("targets"))))
        snapshot = Snapshot(expires=_now() + settings.validity("snapshot"))
        repo._sign_and_write(Metadata(snapshot))
        repo._sign_and_write(Metadata(Timestamp(expires=_now() + settings.validity("timestamp"))))
        repo.targets_dir.mkdir(parents=True, exist_ok=True)
        return repo

    # -- reading --------------------------------------------------------------------------

    def _load(self, role: str) -> Metadata[Any]:
        from tuf.api.metadata import Metadata

        return Metadata.from_bytes((self.home / "signed" / f"{role}.json").read_bytes())

    def _staged_targets(self) -> Metadata[Any] | None:
        from tuf.api.metadata import Metadata

        path = self.staging
        return Metadata.from_bytes(path.read_bytes()) if path.is_file() else None

    def bundles(self) -> list[dict[str, Any]]:
        """The published targets (and staged ones, marked) as plain dicts."""
        published = self._load("targets").signed.targets
        staged_md = self._staged_targets()
        staged = staged_md.signed.targets if staged_md is not None else published
        rows = []
        for path, info in sorted(staged.items()):
            rows.append({"path": path, "length": info.length, **info.custom, "published": path in published})
        return rows

    # -- signing --------------------------------------------------------------------------

    def _signers(self, role: str) -> list[Signer]:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        from securesystemslib.signer import CryptoSigner

        root = self._load("root").signed if (self.home / "signed" / "root.json").exists() else None
        folders = [self.offline_keys] if role in OFFLINE_ROLES else [self.home / "keys"]
        signers: list[Signer] = []
        keyids = root.roles[role].keyids if root is not None else []
        keys = root.keys if root is not None else {}
        for keyid in keyids:
            for folder in folders:
                path = folder / f"{keyid}.pem"
                if path.is_file():
                    private = load_pem_private_key(path.read_bytes(), None)
                    signers.append(CryptoSigner(private, keys[keyid]))
                    break
        return signers

    def _sign_and_write(self, md: Metadata[Any]) -> None:
        from tuf.api.metadata import Root
        from tuf.api.serialization.json import JSONSerializer

        role = md.signed.type
        if isinstance(md.signed, Root) and not (self.home / "signed" / "root.json").exists():
            signers = self._signers_from_root(md.signed)
        else:
            signers = self._signers(role)
        threshold = self._threshold(role, md)
        if len(signers) < threshold:
            where = self.offline_keys if role in OFFLINE_ROLES else self.home / "keys"
            raise HqError(
                f"{role} needs {threshold} signing key(s), found {len(signers)} in {where} "
                "(mount the offline keys and pass --offline-keys)"
            )
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        data = md.to_bytes(JSONSerializer(compact=False))
        if role == "timestamp":
            atomic_write_bytes(self.metadata_dir / "timestamp.json", data)
        else:
            atomic_write_bytes(self.metadata_dir / f"{md.signed.version}.{role}.json", data)
        atomic_write_bytes(self.home / "signed" / f"{role}.json", data)

    def _signers_from_root(self, root: Any) -> list[Signer]:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        from securesystemslib.signer import CryptoSigner

        signers: list[Signer] = []
        for keyid in root.roles["root"].keyids:
            path = self.offline_keys / f"{keyid}.pem"
            if path.is_file():
                signers.append(CryptoSigner(load_pem_private_key(path.read_bytes(), None), root.keys[keyid]))
        return signers

    def _threshold(self, role: str, md: Metadata[Any]) -> int:
        from tuf.api.metadata import Root

        root = md.signed if isinstance(md.signed, Root) else self._load("root").signed
        return int(root.roles[role].threshold)

    # -- changing -------------------------------------------------------------------------

    def add(self, bundle_dir: Path, target: BundleTarget | None = None, **targeting: Any) -> dict[str, Any]:
        """Pack a bundle, store its archive and stage it as a target.

        An earlier target of the same bundle name and channel is replaced (its
        archive stays on disk for clients that still follow older metadata).

        Args:
            bundle_dir: A verified bundle directory.
            target: Targeting; built from the manifest and ``targeting`` (channel, branches, percent) when not given.
            **targeting: channel, branches, percent.

        Returns:
            The staged target as a dict.

        Raises:
            HqError: the bundle is broken, the targeting is invalid, or HQ's lock was held too long.
        """
        from tuf.api.metadata import TargetFile

        self.targets_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".pack-", suffix=".tar", dir=self.targets_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                manifest = pack_bundle(bundle_dir, tmp)
            except BundleError as err:
                raise HqError(f"bundle rejected: {err}") from err
            if target is None:
                if targeting.get("branches") and targeting.get("percent") is None:
                    targeting["percent"] = 0
                fields = {k: v for k, v in targeting.items() if v is not None}
                try:
                    target = BundleTarget(name=manifest.name, kind=manifest.kind, version=manifest.version, **fields)
                except ValidationError as err:
                    raise HqError(f"bad targeting: {err}") from err
            path = f"{target.name}/{target.version}.tar"
            with tmp.open("rb") as handle:
                info = TargetFile.from_data(path, handle, ["sha256"])
            info.unrecognized_fields["custom"] = json.loads(target.model_dump_json())
            final = self.targets_dir / target.name / f"{info.hashes['sha256']}.{target.version}.tar"
            final.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        with self._changing_staged() as staged:
            _drop(staged, target.name, target.channel)
            staged.signed.targets[path] = info
        return {"path": path, "length": info.length, "sha256": info.hashes["sha256"], **info.custom}

    def remove(self, name: str, channel: str = "stable") -> int:
        """Stage the removal of a bundle's target; returns how many were removed (HqError: HQ's lock held too long)."""
        with self._changing_staged() as staged:
            return _drop(staged, name, channel)

    @contextmanager
    def _changing_staged(self) -> Iterator[Metadata[Any]]:
        """The staged targets to change under HQ's lock, written back unsigned unless the change raises.

        HqError when another command holds ``rollout.lock`` (a rollout's publish) past ``lock_wait_s``.
        """
        from sync.hq.rollout_lock import LOCK_WAIT_S, rollout_lock

        with rollout_lock(self.home, LOCK_WAIT_S if self.lock_wait_s is None else self.lock_wait_s):
            staged = self._staged_targets() or self._load("targets")
            yield staged
            staged.signatures.clear()
            atomic_write_bytes(self.staging, staged.to_bytes())

    def published_target(self, name: str, channel: str = "stable") -> tuple[str, dict[str, Any]] | None:
        """The signed (published) target of a bundle on a channel: its path and TUF target dict."""
        for path, info in self._load("targets").signed.targets.items():
            custom = info.custom or {}
            if custom.get("name") == name and custom.get("channel", "stable") == channel:
                return path, info.to_dict()
        return None

    def retarget(self, name: str, channel: str = "stable", **changes: Any) -> dict[str, Any]:
        """Stage new targeting (percent, branches, cohort, revoked) for a bundle's current target.

        Raises:
            HqError: no such target, or the targeting is invalid.
        """
        with self._changing_staged() as staged:
            for path, info in staged.signed.targets.items():
                custom = info.custom or {}
                if custom.get("name") == name and custom.get("channel", "stable") == channel:
                    try:
                        target = BundleTarget.model_validate({**custom, **changes})
                    except ValidationError as err:
                        raise HqError(f"bad targeting: {err}") from err
                    info.unrecognized_fields["custom"] = json.loads(target.model_dump_json())
                    return {"path": path, "length": info.length, **info.custom}
            raise HqError(f"no target of {name!r} on channel {channel!r}")

    def restore(self, path: str, target: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Stage an earlier target again (its archive is still served), replacing the bundle's current one.

        Args:
            path: The target path (``name/version.tar``).
            target: Its TUF target dict, as :meth:`published_target` returned it.
            **changes: Targeting to change (percent, branches, revoked ...).

        Raises:
            HqError: the archive is gone or the targeting is invalid.
        """
        from tuf.api.metadata import TargetFile

        info = TargetFile.from_dict(json.loads(json.dumps(target)), path)
        custom = info.custom or {}
        archive = self.targets_dir / path.split("/", 1)[0] / f"{info.hashes['sha256']}.{path.split('/', 1)[1]}"
        if not archive.is_file():
            raise HqError(f"cannot restore {path}: its archive {archive} is gone")
        try:
            bundle_target = BundleTarget.model_validate({**custom, **changes})
        except ValidationError as err:
            raise HqError(f"bad targeting: {err}") from err
        info.unrecognized_fields["custom"] = json.loads(bundle_target.model_dump_json())
        with self._changing_staged() as staged:
            _drop(staged, bundle_target.name, bundle_target.channel)
            staged.signed.targets[path] = info
        return {"path": path, "length": info.length, **info.custom}

    def publish(self, *, now: datetime | None = None, timestamp_expires: datetime | None = None) -> PublishResult:
        """Sign staged targets (offline key), then snapshot and timestamp (online keys).

        Without staged changes this re-signs snapshot and timestamp only.

        Args:
            now: The time expiries count from (tests).
            timestamp_expires: Override of the timestamp's expiry (tests: an
                already expired timestamp).

        Raises:
            HqError: a signing key is missing, or another publish held HQ's lock (``rollout.lock``) too long.
        """
        from sync.hq.rollout_lock import rollout_lock

        with rollout_lock(self.home):  # one publish at a time (a rollout's and an operator's)
            return self._publish(now or _now(), timestamp_expires)

    def _publish(self, now: datetime, timestamp_expires: datetime | None) -> PublishResult:
        from tuf.api.metadata import MetaFile

        staged = self._staged_targets()
        targets = self._load("targets")
        changed = staged is not None
        if staged is not None:
            staged.signed.version = targets.signed.version + 1
            staged.signed.expires = now + self.settings.validity("targets")
            self._sign_and_write(staged)
            self.staging.unlink()
            targets = staged
        snapshot = self._load("snapshot")
        snapshot.signed.version += 1
        snapshot.signed.expires = now + self.settings.validity("snapshot")
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        self._sign_and_write(snapshot)
        timestamp = self._load("timestamp")
        timestamp.signed.version += 1
        timestamp.signed.expires = timestamp_expires or now + self.settings.validity("timestamp")
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        self._sign_and_write(timestamp)
        return PublishResult(targets.signed.version, snapshot.signed.version, timestamp.signed.version, changed)

    def resign(self, *, now: datetime | None = None, within: timedelta = timedelta(hours=12)) -> PublishResult:
        """Re-sign snapshot and timestamp when they expire within ``within`` (online keys only).

        Raises:
            HqError: an online key is missing.
        """
        now = now or _now()
        snapshot, timestamp = self._load("snapshot"), self._load("timestamp")
        targets = self._load("targets")
        if snapshot.signed.expires - now > within and timestamp.signed.expires - now > within:
            return PublishResult(targets.signed.version, snapshot.signed.version, timestamp.signed.version, False)
        return self.beside("resign").publish(now=now)  # the operator's staged targets stay staged, untouched

    def published_targets(self) -> dict[str, dict[str, Any]]:
        """Every signed (published) target: path -> TUF target dict."""
        return {path: info.to_dict() for path, info in self._load("targets").signed.targets.items()}

    def beside(self, name: str) -> HqRepository:
        """The same repository staging in ``staged/NAME.json``: its publish leaves the operator's staged changes out."""
        other = copy.copy(self)
        other.staging = self.home / "staged" / f"{name}.json"
        return other

    def carry_over(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """Bring a publish :meth:`beside` into the operator's staging, but for bundles they staged a change of."""
        from tuf.api.metadata import TargetFile

        staged = self._staged_targets()
        if staged is None:
            return  # nothing staged: the next change starts from the published targets
        old, new = _by_bundle(before), _by_bundle(after)
        mine = _by_bundle({path: info.to_dict() for path, info in staged.signed.targets.items()})
        for key in old.keys() | new.keys():
            if old.get(key) == new.get(key) or mine.get(key) != old.get(key):
                continue
            _drop(staged, *key)
            if key in new:
                path, target = new[key]
                staged.signed.targets[path] = TargetFile.from_dict(json.loads(json.dumps(target)), path)
        atomic_write_bytes(self.staging, staged.to_bytes())

    def export_root(self, out: Path) -> None:
        """Copy the current root metadata to ``out`` (kiosk provisioning)."""
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.home / "signed" / "root.json", out)


def _by_bundle(targets: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    return {(str(t["custom"]["name"]), str(t["custom"].get("channel", "stable"))): (p, t) for p, t in targets.items()}


def _drop(targets: Metadata[Any], name: str, channel: str) -> int:
    """Remove every target of bundle ``name`` on ``channel``; how many were removed."""
    removed = 0
    for path, existing in list(targets.signed.targets.items()):
        custom = existing.custom or {}
        if custom.get("name") == name and custom.get("channel", "stable") == channel:
            del targets.signed.targets[path]
            removed += 1
    return removed
