"""The kiosk's device identity: an ed25519 key (0600) and the counter of signed messages.

``<state>/sync/identity/device.key`` holds the private key (PKCS#8 PEM, mode
0600, folder 0700); ``device.pub`` the public key as HQ enrols it;
``counter`` the last counter used. The counter is written (atomically)
before a message leaves, and it is at least the clock in microseconds, so it
keeps growing across restarts, a lost counter file and a reinstalled state.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from bundles import atomic_write_bytes
from sync.envelope import Envelope, public_key_text, seal
from sync.errors import SyncError
from sync.status import sync_dir


def identity_dir(state_dir: Path) -> Path:
    """Where the device key and counter live."""
    return sync_dir(state_dir) / "identity"


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret atomically with mode 0600 from the first byte (mkstemp creates it so), in a 0700 folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    atomic_write_bytes(path, data)


def create_identity(state_dir: Path) -> tuple[bool, str]:
    """Create the device key unless one exists; returns (created, public key text)."""
    folder = identity_dir(state_dir)
    key_path = folder / "device.key"
    if key_path.is_file():
        return False, load_identity_key(state_dir)[1]
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    _write_private(key_path, pem)
    public = public_key_text(key.public_key())
    atomic_write_bytes(folder / "device.pub", (public + "\n").encode("ascii"))
    return True, public


def load_identity_key(state_dir: Path) -> tuple[Ed25519PrivateKey, str]:
    """The device key and its public text.

    Raises:
        SyncError: no key (run ``kiosk sync init``), unreadable, or readable by others.
    """
    path = identity_dir(state_dir) / "device.key"
    try:
        mode = path.stat().st_mode & 0o777
        data = path.read_bytes()
    except OSError as err:
        raise SyncError(f"no device key at {path} (run `kiosk sync init`): {err}") from err
    if mode & 0o077:
        raise SyncError(f"{path} is readable by others (mode {mode:o}); it must be 0600")
    try:
        key = load_pem_private_key(data, password=None)
    except ValueError as err:
        raise SyncError(f"{path}: not a private key: {err}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise SyncError(f"{path}: not an ed25519 key")
    return key, public_key_text(key.public_key())


@dataclass
class DeviceSigner:
    """Signs this kiosk's messages to HQ with a counter that never repeats.

    Args:
        state_dir: The kiosk's state directory (key and counter).
        kiosk_id: This kiosk's id, as HQ enrolled it.
    """

    state_dir: Path
    kiosk_id: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _counter_path(self) -> Path:
        return identity_dir(self.state_dir) / "counter"

    def next_counter(self, now: float) -> int:
        """The next counter: above the stored one and at least the clock in microseconds; stored first."""
        path = self._counter_path()
        try:
            last = int(path.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            last = 0
        counter = max(last + 1, int(now * 1_000_000))
        atomic_write_bytes(path, str(counter).encode("ascii"))
        return counter

    def seal(self, path: str, body: bytes, now: float) -> Envelope:
        """Sign ``body`` for the HQ endpoint ``path``.

        Raises:
            SyncError: no usable device key.
        """
        key, _ = load_identity_key(self.state_dir)
        with self._lock:
            counter = self.next_counter(now)
        return seal(key, self.kiosk_id, counter, now=now, path=path, body=body)
