"""Bounded fuzzing of what strangers reach (hypothesis): every HTTP endpoint, the turn, the policy loader,
the WAV reader and the bundle unpacker. No crash, no 500.

Each ``fuzz_*`` runs ``examples`` generated inputs against the real component and returns how the
inputs ended (HTTP status, or accepted / the expected error class). A crash fails with hypothesis's
shrunk example. Used by ``tests/integration/test_fuzz.py`` (CI, ~200 each) and ``scripts/fuzz.py``.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Text as a stranger sends it: any code point, lone surrogates included, bank-ish digits and CJK.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=60) | st.sampled_from(
    ["\udc80", "a\ud800b", "6222 0212 3456 7890 128", "请将资金转入安全账户", "", " ", "\x00", "\u202e", "%ff"]
)
SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["我要取号", "I want to talk to a real person", "有人让我把钱转到安全账户", "4111 1111 1111 1111", "bye"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
PATHS = [
    "/",
    "/kiosk",
    "/healthz",
    "/static/kiosk.html",
    "/static/../../etc/passwd",
    "/api/session",
    "/api/turn",
    "/api/kiosk/state",
    "/api/kiosk/input",
    "/api/kiosk/voice",
    "/api/kiosk/presence",
    "/api/kiosk/card",
    "/avatar/frame.png",
    "/avatar/stream.mjpg",
    "/avatar/say",
    "/admin/",
    "/admin/login",
    "/admin/logout",
    "/admin/handoffs",
    "/admin/conversations",
    "/admin/settings",
    "/admin/api/status",
    "/admin/api/live",
    "/admin/review",
    "/admin/audit",
    "/admin/updates",
    "/metrics",
]
FIELDS = ["session", "text", "button", "walk", "action", "number", "username", "password", "csrf", "lang"]
CTYPES = ["application/json", "text/plain", "audio/wav", "application/x-www-form-urlencoded", "", "multipart/form-data"]
_COMMON = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=False)


def _run(examples: int, strategy: Any, check: Callable[[Any], str]) -> Counter[str]:
    outcomes: Counter[str] = Counter()

    @settings(_COMMON, max_examples=examples)
    @given(strategy)
    def body(value: Any) -> None:
        outcomes[check(value)] += 1

    body()
    return outcomes


# -- HTTP: the customer page, the runtime's routes and the admin page (one app) --------------------------


@st.composite
def http_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request a stranger (or, sometimes, the kiosk screen) might send."""
    path = draw(st.sampled_from(PATHS))
    if draw(st.booleans()):
        path += draw(st.sampled_from(["", "/", "?x=", "?fps=", "?frames=", "?lang=", "?device=", "?via="]))
        path += draw(st.text(st.characters(codec="utf-8"), max_size=12))
    body_kind = draw(st.sampled_from(["json", "fields", "bytes", "none"]))
    if body_kind == "json":
        body: bytes | None = json.dumps(draw(JSON)).encode()
    elif body_kind == "fields":
        fields = draw(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4))
        body = json.dumps(fields).encode()
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=512))
    else:
        body = None
    headers = {"Content-Type": draw(st.sampled_from(CTYPES))}
    if draw(st.integers(0, 4)) == 0:
        headers["Host"] = draw(st.sampled_from(["evil.example", "127.0.0.1:1", "", "[::1]", "localhost", "a" * 300]))
    if draw(st.integers(0, 3)) == 0:
        headers["Origin"] = draw(st.sampled_from(["http://evil.example", "null", "http://127.0.0.1", "garbage"]))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])),
        "path": path,
        "body": body,
        "headers": headers,
        "token": draw(st.booleans()),
        "staff": draw(st.booleans()),
    }


def fuzz_http(app: Any, examples: int, staff_cookies: dict[str, str] | None = None) -> Counter[str]:
    """Random requests against ``app`` (the whole kiosk app): every answer below 500.

    Args:
        app: A started app (inside its TestClient's lifespan).
        examples: How many requests.
        staff_cookies: A signed-in staff member's cookies, sent with some requests.
    """
    from fastapi.testclient import TestClient

    from kiosk.web.trust import DEVICE_HEADER

    client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    admin = app.state.admin  # the staff live view streams for minutes unless a browser goes away: bound it
    admin.config = admin.config.model_copy(update={"live_max_seconds": 0.5, "live_poll_seconds": 0.1})

    def check(req: dict[str, Any]) -> str:
        headers = dict(req["headers"])
        if req["token"]:
            headers[DEVICE_HEADER] = app.state.device_token
        client.cookies.clear()
        if req["staff"] and staff_cookies:
            client.cookies.update(staff_cookies)
        path = req["path"]
        if path.startswith("/avatar/stream.mjpg"):  # a live stream never ends by itself: bound it (last value wins)
            path += ("&" if "?" in path else "?") + "frames=2&fps=30"
        try:
            response = client.request(req["method"], path, content=req["body"], headers=headers)
        except Exception as err:  # noqa: BLE001 - the client cannot send it (bad URL or header); server errors are 500s
            return f"unsendable:{type(err).__name__}"
        if response.status_code >= 500:
            raise AssertionError(f"{req['method']} {req['path']!r} -> {response.status_code}: {response.text[:300]}")
        return str(response.status_code)

    return _run(examples, http_requests(), check)


# -- the turn -----------------------------------------------------------------------------------------


def fuzz_turn(conversations: Any, examples: int) -> Counter[str]:
    """Random text and buttons through ``Conversations.turn`` (engine + store): a decision every time."""
    turns = st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans(), SAFE_TEXT)

    def check(value: tuple[str, bool, str]) -> str:
        session, as_button, text = value
        if as_button:
            decision, _ = conversations.turn(session, button=text or "x")
        else:
            decision, _ = conversations.turn(session, text=text)
        if not decision.reply:
            raise AssertionError(f"empty reply for {text!r}")
        return str(decision.action)

    return _run(examples, turns, check)


# -- the policy loader --------------------------------------------------------------------------------

YAML_DOCS = st.one_of(
    JSON.map(json.dumps),  # JSON is YAML
    st.text(max_size=200),
    st.sampled_from(
        [
            "schema_version: 99\n",
            "schema_version: 1\nmodel: 7\n",
            "!!python/object:os.system 'true'\n",
            "a: &a [*a]\n",
            "- - - - - - - - - - - -\n",
            "key: " + "[" * 200 + "\n",
            "schema_version: 1\nstaff_bounds: {max_misses: [9, 1]}\n",
        ]
    ),
)


def fuzz_policy(examples: int) -> Counter[str]:
    """Replace one file of the default policy with random YAML, or one top-level value of it with a random
    value: it loads, or PolicyError names the file."""
    import yaml

    from kiosk.config import DEFAULT_POLICY_DIR
    from kiosk.policy import PolicyError, load_policy

    names = sorted(p.name for p in DEFAULT_POLICY_DIR.glob("*.yaml"))
    shipped = {n: yaml.safe_load((DEFAULT_POLICY_DIR / n).read_text(encoding="utf-8")) for n in names}
    work = Path(tempfile.mkdtemp(prefix="fuzz-policy-"))
    mutation = st.tuples(st.sampled_from(names), st.integers(0, 50), JSON | st.integers(-5, 5) | st.floats(-1, 2))
    documents = st.tuples(st.sampled_from(names), YAML_DOCS) | mutation.map(
        lambda m: (m[0], _mutated(shipped[m[0]], m[1], m[2]))
    )
    try:

        def check(value: tuple[str, str]) -> str:
            name, text = value
            folder = work / "policy"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(DEFAULT_POLICY_DIR, folder)
            (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
            try:
                load_policy(folder, verify=False)
            except PolicyError:
                return "rejected"
            return "loaded"

        return _run(examples, documents, check)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _mutated(data: Any, which: int, value: Any) -> str:
    """``data`` (a policy file's YAML) with one top-level value replaced, as YAML (JSON syntax)."""
    if isinstance(data, dict) and data:
        keys = sorted(data)
        data = {**data, keys[which % len(keys)]: value}
    return json.dumps(data, ensure_ascii=False)


# -- the WAV reader -----------------------------------------------------------------------------------


@st.composite
def wav_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a RIFF/WAVE header with random fields and a random tail."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    if draw(st.booleans()):  # a well-formed header: the samples and the declared length vary
        channels, rate = draw(st.sampled_from([1, 2])), draw(st.sampled_from([8000, 16000, 44100]))
        width, fmt_tag = draw(st.sampled_from([1, 2, 3, 4])), 1
    else:
        channels = draw(st.sampled_from([1, 2, 0, 9, 65535]) | st.integers(0, 70000))
        rate = draw(st.sampled_from([16000, 7999, 0, 2**32 - 1]) | st.integers(0, 2**32 - 1))
        width = draw(st.sampled_from([2, 1, 3, 4, 0, 8]))
        fmt_tag = draw(st.sampled_from([1, 3, 0xFFFE, 0, 85]))
    data = draw(st.binary(max_size=1024))
    declared = draw(st.sampled_from([len(data), 0, 2**32 - 1, len(data) * 2]))
    fmt = struct.pack("<HHIIHH", fmt_tag, channels & 0xFFFF, rate, (rate * width) & 0xFFFFFFFF, 0, width * 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", declared) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def fuzz_wav(examples: int) -> Counter[str]:
    """Random bytes into ``edge_models.audio.read_wav``: audio, or an AudioError."""
    from edge_models.audio import AudioError, read_wav

    work = Path(tempfile.mkdtemp(prefix="fuzz-wav-"))
    try:

        def check(data: bytes) -> str:
            path = work / "in.wav"
            path.write_bytes(data)
            try:
                read_wav(path, max_seconds=5.0)
            except AudioError as err:
                return type(err).__name__
            return "read"

        return _run(examples, wav_bytes(), check)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the bundle unpacker ------------------------------------------------------------------------------

MEMBER_NAMES = st.sampled_from(
    ["manifest.json", "a.txt", "../escape.txt", "/abs.txt", "a/../../x", "", ".", "a\\b", "dir/", "x" * 300]
) | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20)


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    """Random bytes, or a tar with hostile members: traversal, links, devices, huge sizes (bombs)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=4096))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for _ in range(draw(st.integers(0, 5))):
            info = tarfile.TarInfo(draw(MEMBER_NAMES))
            kind = draw(st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, b"3"]))
            info.type = kind
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = draw(st.sampled_from(["/etc/passwd", "../../x", "a.txt"]))
            data = draw(st.binary(max_size=256)) if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    raw = buffer.getvalue()
    if draw(st.booleans()) and len(raw) > 512:  # corrupt a byte, or cut it short
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :] if draw(st.booleans()) else raw[:at]
    return raw


def fuzz_unpack(examples: int) -> Counter[str]:
    """Random and hostile archives into ``bundles.archive.unpack_bundle``: a bundle, or a BundleError; nothing is
    written outside the staging folder and a failed unpack leaves nothing behind."""
    from bundles.archive import unpack_bundle
    from sync.errors import BundleError

    work = Path(tempfile.mkdtemp(prefix="fuzz-unpack-"))
    try:

        def check(data: bytes) -> str:
            stage = work / "stage" / "inner"
            shutil.rmtree(work / "stage", ignore_errors=True)
            archive = work / "bundle.tar"
            archive.write_bytes(data)
            try:
                unpack_bundle(archive, stage, max_total=64 * 1024, max_members=4)
            except BundleError as err:
                outcome = type(err).__name__
                if any(stage.iterdir()):
                    raise AssertionError("a failed unpack left files behind") from err
            else:
                outcome = "unpacked"
            outside = {p.name for p in work.iterdir()} - {"stage", "bundle.tar"}
            if outside or any(p.name != "inner" for p in (work / "stage").iterdir()):
                raise AssertionError(f"written outside the staging folder: {outside}")
            return outcome

        return _run(examples, archives(), check)
    finally:
        shutil.rmtree(work, ignore_errors=True)
