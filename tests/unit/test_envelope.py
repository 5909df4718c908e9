"""Signed envelopes: encode, sign, verify, and the replay window (pure, no clock)."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.envelope import (
    BadSignatureError,
    Envelope,
    EnvelopeError,
    ReplayError,
    ReplayWindow,
    StaleError,
    UnsignedError,
    canonical,
    load_public_key,
    parse_headers,
    public_key_text,
    seal,
    verify_signature,
)

NOW = 1_800_000_000.0
BODY = b'{"kiosk_id": "k1"}'


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def sealed(key: Ed25519PrivateKey, counter: int = 7, path: str = "/api/report", body: bytes = BODY) -> Envelope:
    return seal(key, "k1", counter, now=NOW, path=path, body=body)


def test_headers_round_trip_and_verify(key: Ed25519PrivateKey) -> None:
    envelope = sealed(key)
    parsed = parse_headers({k.upper(): v for k, v in envelope.headers().items()})
    assert parsed == envelope
    verify_signature(parsed, key.public_key(), "/api/report", BODY)


def test_canonical_encoding_names_every_field() -> None:
    text = canonical("k1", 7, 1800000000, "/api/intake", b"x").decode()
    assert text.splitlines() == [
        "kiosk-envelope-v1",
        "k1",
        "7",
        "1800000000",
        "POST /api/intake",
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    ]


@pytest.mark.parametrize(
    ("change", "path", "body"),
    [
        pytest.param({}, "/api/report", BODY + b" ", id="body-changed"),
        pytest.param({}, "/api/intake", BODY, id="other-endpoint"),
        pytest.param({"counter": 8}, "/api/report", BODY, id="counter-changed"),
        pytest.param({"timestamp": int(NOW) + 1}, "/api/report", BODY, id="time-changed"),
        pytest.param({"kiosk_id": "k2"}, "/api/report", BODY, id="other-kiosk"),
    ],
)
def test_any_change_breaks_the_signature(
    key: Ed25519PrivateKey, change: dict[str, object], path: str, body: bytes
) -> None:
    envelope = replace(sealed(key), **change)  # type: ignore[arg-type]
    with pytest.raises(BadSignatureError):
        verify_signature(envelope, key.public_key(), path, body)


def test_another_key_is_refused(key: Ed25519PrivateKey) -> None:
    with pytest.raises(BadSignatureError):
        verify_signature(sealed(Ed25519PrivateKey.generate()), key.public_key(), "/api/report", BODY)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"x-kiosk-id": "k1", "x-kiosk-counter": "1", "x-kiosk-time": "1"}, id="no-signature"),
        pytest.param(
            {"x-kiosk-id": "k1", "x-kiosk-counter": "-1", "x-kiosk-time": "1", "x-kiosk-signature": "AA=="},
            id="negative-counter",
        ),
        pytest.param(
            {"x-kiosk-id": "k1", "x-kiosk-counter": "1", "x-kiosk-time": "1", "x-kiosk-signature": "not base64!"},
            id="bad-base64",
        ),
        pytest.param(
            {"x-kiosk-id": "k1", "x-kiosk-counter": "1", "x-kiosk-time": "1", "x-kiosk-signature": "AAAA"},
            id="short-signature",
        ),
    ],
)
def test_missing_or_malformed_headers_are_unsigned(headers: dict[str, str]) -> None:
    with pytest.raises(UnsignedError):
        parse_headers(headers)


def test_kiosk_id_with_a_newline_cannot_be_encoded() -> None:
    with pytest.raises(UnsignedError):
        canonical("k1\nk2", 1, 1, "/api/report", b"")


@pytest.mark.parametrize(
    ("offset", "counter", "last", "error"),
    [
        pytest.param(0, 10, 9, None, id="fresh"),
        pytest.param(-299, 10, 9, None, id="inside-window-past"),
        pytest.param(299, 10, 9, None, id="inside-window-future"),
        pytest.param(-301, 10, 9, StaleError, id="too-old"),
        pytest.param(301, 10, 9, StaleError, id="from-the-future"),
        pytest.param(0, 9, 9, ReplayError, id="same-counter"),
        pytest.param(0, 3, 9, ReplayError, id="older-counter"),
    ],
)
def test_replay_window(offset: int, counter: int, last: int, error: type[EnvelopeError] | None) -> None:
    envelope = Envelope("k1", counter, int(NOW) + offset, b"\0" * 64)
    window = ReplayWindow(window_s=300)
    if error is None:
        window.check(envelope, last, NOW)
    else:
        with pytest.raises(error):
            window.check(envelope, last, NOW)


def test_refusals_map_to_http_statuses() -> None:
    statuses = (UnsignedError.status, BadSignatureError.status, StaleError.status, ReplayError.status)
    assert statuses == (401, 401, 401, 409)


def test_public_key_text_round_trip(key: Ed25519PrivateKey) -> None:
    text = public_key_text(key.public_key())
    envelope = sealed(key)
    verify_signature(envelope, load_public_key(f"  {text}\n"), "/api/report", BODY)


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"x" * 31).decode()])
def test_bad_public_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"base64|32 bytes"):
        load_public_key(text)
