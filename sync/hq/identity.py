"""HQ side of kiosk identity: who signed a message, and whether HQ takes it.

:func:`authenticate` checks what needs no write (headers, enrolment,
signature, clock); :meth:`sync.hq.db.HqDB.accept` then checks the counter
and moves it in the same transaction that stores the message's items, so a
refused message changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from sync.envelope import (
    Envelope,
    ReplayWindow,
    UnknownKioskError,
    load_public_key,
    parse_headers,
    verify_signature,
)
from sync.hq.db import HqDB


def authenticate(
    db: HqDB, headers: Mapping[str, str], *, path: str, body: bytes, now: float, window: ReplayWindow
) -> Envelope:
    """The envelope of a request, once its kiosk, signature and clock check out.

    Raises:
        UnsignedError: no or malformed envelope headers.
        UnknownKioskError: the kiosk is not enrolled or was revoked.
        BadSignatureError: the signature does not verify with the enrolled key.
        StaleError: the timestamp is outside the window.
        ReplayError: the counter is not newer than the last accepted one.
    """
    envelope = parse_headers(headers)
    enrolment = db.enrolment(envelope.kiosk_id)
    if enrolment is None or enrolment.revoked_at is not None:
        raise UnknownKioskError(f"kiosk {envelope.kiosk_id!r} is not enrolled or was revoked")
    verify_signature(envelope, load_public_key(enrolment.public_key), path, body)
    window.check(envelope, enrolment.last_counter, now)
    return envelope
