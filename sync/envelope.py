"""Signed envelopes for every kiosk -> HQ message (report, labels, daily counts).

A message is an HTTP POST whose body stays as it is; four headers carry the
envelope: the kiosk id, a counter that only grows, the kiosk's clock and an
ed25519 signature. The signature covers a canonical encoding of those
fields, the request path and the SHA-256 of the body, so a signed report
cannot be replayed, re-addressed to another endpoint, or have its body
swapped. HQ checks: known and not revoked, signature, clock window, counter.

Pure logic: nothing here reads the clock (callers pass ``now``) or a file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ENVELOPE_VERSION = "kiosk-envelope-v1"
HEADER_KIOSK = "x-kiosk-id"
HEADER_COUNTER = "x-kiosk-counter"
HEADER_TIME = "x-kiosk-time"
HEADER_SIGNATURE = "x-kiosk-signature"
DEFAULT_WINDOW_S = 300.0
"""How far a message's timestamp may be from HQ's clock (either way)."""

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MAX_COUNTER = 2**63 - 1


class EnvelopeError(Exception):
    """A message's envelope is refused. ``status`` is the HTTP status HQ answers with."""

    status = 401


class UnsignedError(EnvelopeError):
    """The envelope headers are missing or malformed."""


class BadSignatureError(EnvelopeError):
    """The signature does not match the kiosk's enrolled key."""


class UnknownKioskError(EnvelopeError):
    """The kiosk is not enrolled, or its enrolment was revoked."""

    status = 403


class StaleError(EnvelopeError):
    """The timestamp is outside the window around HQ's clock."""


class ReplayError(EnvelopeError):
    """The counter is not above the last one HQ accepted from this kiosk."""

    status = 409


@dataclass(frozen=True, slots=True)
class Envelope:
    """The signed fields of one message (the body travels beside it)."""

    kiosk_id: str
    counter: int
    timestamp: int
    signature: bytes

    def headers(self) -> dict[str, str]:
        """The HTTP headers that carry this envelope."""
        return {
            HEADER_KIOSK: self.kiosk_id,
            HEADER_COUNTER: str(self.counter),
            HEADER_TIME: str(self.timestamp),
            HEADER_SIGNATURE: base64.b64encode(self.signature).decode("ascii"),
        }


def canonical(kiosk_id: str, counter: int, timestamp: int, path: str, body: bytes) -> bytes:
    """The bytes the signature covers: version, id, counter, time, path and body hash, one per line.

    Raises:
        UnsignedError: a field that cannot be encoded unambiguously.
    """
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise UnsignedError("kiosk id: 1-128 letters, digits, '_', '.', '-'")
    if not 0 < counter <= _MAX_COUNTER or timestamp < 0:
        raise UnsignedError("counter must be positive and the timestamp not negative")
    if not path.startswith("/") or any(c in path for c in "\r\n "):
        raise UnsignedError("path must be an absolute request path")
    digest = hashlib.sha256(body).hexdigest()
    return f"{ENVELOPE_VERSION}\n{kiosk_id}\n{counter}\n{timestamp}\nPOST {path}\n{digest}".encode("ascii")


def seal(key: Ed25519PrivateKey, kiosk_id: str, counter: int, *, now: float, path: str, body: bytes) -> Envelope:
    """Sign ``body`` for ``path`` as message number ``counter`` of ``kiosk_id`` at time ``now``."""
    timestamp = int(now)
    signature = key.sign(canonical(kiosk_id, counter, timestamp, path, body))
    return Envelope(kiosk_id, counter, timestamp, signature)


def parse_headers(headers: Mapping[str, str]) -> Envelope:
    """Read an envelope from request headers (names in any case), without checking it.

    Raises:
        UnsignedError: a header is missing or malformed.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (HEADER_KIOSK, HEADER_COUNTER, HEADER_TIME, HEADER_SIGNATURE) if not lower.get(h)]
    if missing:
        raise UnsignedError(f"unsigned message: missing {', '.join(missing)}")
    counter, timestamp = lower[HEADER_COUNTER], lower[HEADER_TIME]
    if not counter.isdigit() or not timestamp.isdigit() or len(counter) > 19 or len(timestamp) > 19:
        raise UnsignedError("counter and time must be decimal integers")
    try:
        signature = base64.b64decode(lower[HEADER_SIGNATURE], validate=True)
    except (binascii.Error, ValueError) as err:
        raise UnsignedError("signature is not base64") from err
    if len(signature) != 64:
        raise UnsignedError("signature must be 64 bytes (ed25519)")
    return Envelope(lower[HEADER_KIOSK], int(counter), int(timestamp), signature)


def verify_signature(envelope: Envelope, public_key: Ed25519PublicKey, path: str, body: bytes) -> None:
    """Check the signature over the envelope, ``path`` and ``body``.

    Raises:
        BadSignatureError: it does not verify.
        UnsignedError: the envelope's fields cannot be encoded.
    """
    message = canonical(envelope.kiosk_id, envelope.counter, envelope.timestamp, path, body)
    try:
        public_key.verify(envelope.signature, message)
    except InvalidSignature as err:
        raise BadSignatureError("signature does not match the kiosk's enrolled key") from err


@dataclass(frozen=True, slots=True)
class ReplayWindow:
    """Freshness rules: the clock window and the counter that must grow.

    Args:
        window_s: Largest difference allowed between the message's time and HQ's.
    """

    window_s: float = DEFAULT_WINDOW_S

    def check(self, envelope: Envelope, last_counter: int, now: float) -> None:
        """Refuse a message that is too old, from the future, or not newer than the last one.

        Raises:
            StaleError: the timestamp is outside the window.
            ReplayError: the counter is not above ``last_counter``.
        """
        if abs(now - envelope.timestamp) > self.window_s:
            raise StaleError(
                f"timestamp {envelope.timestamp} is more than {self.window_s:.0f}s from HQ's clock;"
                " check the kiosk's time"
            )
        if envelope.counter <= last_counter:
            raise ReplayError(f"counter {envelope.counter} is not above {last_counter}: replayed or out of order")


def public_key_text(key: Ed25519PublicKey) -> str:
    """A public key as base64 of its 32 raw bytes (what ``kiosk sync init`` prints and HQ enrols)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key written by :func:`public_key_text` (surrounding whitespace ignored).

    Raises:
        ValueError: not base64 of 32 bytes.
    """
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("public key is not base64") from err
    if len(raw) != 32:
        raise ValueError("an ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
