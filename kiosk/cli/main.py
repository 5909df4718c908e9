"""The ``kiosk`` command (contract: shared/spec/cli.md).

Heavy libraries are imported inside the commands that need them, so the
command starts fast.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from kiosk.cli.admin import app as admin_app
from kiosk.cli.avatar import register as register_avatar
from kiosk.cli.demo import demo as demo_command
from kiosk.cli.sync import sync_app
from kiosk.cli.voice import register as register_voice
from kiosk.config import Settings, default_state_dir
from sync.hq_cli import register as register_hq

if TYPE_CHECKING:
    from kiosk.dialogue import DialogueEngine

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Branch kiosk and digital-human runtime.")
policy_app = typer.Typer(no_args_is_help=True, help="Policy bundles (HQ tooling).")
app.add_typer(policy_app, name="policy")
register_hq(app)  # kiosk hq ... (sync/hq_cli/: repository, operators, labels, train, rollout)
app.add_typer(sync_app, name="sync")
app.add_typer(admin_app, name="admin")
register_voice(app)  # kiosk asr, kiosk say
register_avatar(app)  # kiosk avatar ..., kiosk presence
app.command("demo")(demo_command)  # kiosk demo: a scripted day on simulated devices

StateOption = Annotated[
    Path,
    typer.Option("--state-dir", envvar="KIOSK_STATE_DIR", help="State directory (bundles, kiosk.db)."),
]
_DEFAULT_STATE = default_state_dir()
NoModelOption = Annotated[bool, typer.Option("--no-model", help="Run on rules only, without the intent model.")]
NoLlmOption = Annotated[
    bool, typer.Option("--no-llm", envvar="KIOSK_NO_LLM", help="Skip the LLM stage (faster start, less memory).")
]


def _settings(state_dir: Path, no_model: bool = False, no_llm: bool = False, **extra: Any) -> Settings:
    return Settings(state_dir=state_dir, use_model=not no_model, use_llm=not no_llm, **extra)


def _emit(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) for each input line; undecodable lines yield an error."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None, "line is not valid UTF-8"
            continue
        yield number, text.rstrip("\r\n"), None


def _report(health: Any) -> None:
    for problem in health.problems:
        typer.echo(f"kiosk: {problem}", err=True)


ExplainOption = Annotated[
    bool, typer.Option("--explain", help="Add each decision's reason: stage, sentence and evidence (issue 14).")
]
TextsArgument = Annotated[
    list[str] | None, typer.Argument(help="Utterances to understand instead of reading stdin.", show_default=False)
]


def _nlu_inputs(texts: list[str] | None) -> Iterator[tuple[int, str | None, str | None]]:
    if texts:
        yield from ((number, text, None) for number, text in enumerate(texts, start=1))
    else:
        yield from _lines(sys.stdin.buffer)


@app.command()
def nlu(
    texts: TextsArgument = None,
    state_dir: StateOption = _DEFAULT_STATE,
    no_model: NoModelOption = False,
    no_llm: NoLlmOption = False,
    explain: ExplainOption = False,
) -> None:
    """Understand utterances from stdin (one per line) or the arguments; print JSON lines."""
    from kiosk.assembly import build_engine, stop_llm, wait_for_llm

    engine, health = build_engine(_settings(state_dir, no_model, no_llm))
    # The LLM reads its label menu first, as a kiosk does before its first customer; on a machine
    # too busy for that, the first lines go on without it (skipped as busy) rather than waiting long.
    if not wait_for_llm(engine, timeout_s=NLU_LLM_WAIT_S):
        print(f"note: the LLM had not read its label menu after {NLU_LLM_WAIT_S:.0f} s; going on", file=sys.stderr)
    _report(health)
    try:
        _understand_lines(engine, texts, explain)
    finally:
        stop_llm(engine)  # a read-ahead still going would hold the exit


def _understand_lines(engine: DialogueEngine, texts: list[str] | None, explain: bool) -> None:
    out = sys.stdout
    for number, text, error in _nlu_inputs(texts):
        if error is not None or text is None:
            _emit(out, {"error": error, "line": number})
            continue
        if not text.strip():
            _emit(out, {"error": "empty line", "line": number})
            continue
        norm, understanding = engine.understand(text)
        line: dict[str, Any] = {
            "text": text,
            "lang": norm.lang or "zh",
            "intent": understanding.intent,
            "confidence": round(understanding.confidence, 4),
            "stage": understanding.stage,
        }
        if explain:
            reason = understanding.reason
            line["reason"] = None if reason is None else reason.model_dump(mode="json", exclude_none=True)
        _emit(out, line)


@app.command()
def chat(
    state_dir: StateOption = _DEFAULT_STATE,
    no_model: NoModelOption = False,
    no_llm: NoLlmOption = False,
    voice: Annotated[Path | None, typer.Option(help="Voice turns from a WAV file or a folder of WAVs.")] = None,
    voice_out: Annotated[Path | None, typer.Option(help="Folder for the spoken replies (WAV).")] = None,
) -> None:
    """Converse: JSON lines {"session", "text"|"button"} on stdin, decisions on stdout."""
    if voice is not None:
        from kiosk.cli.voice import voice_chat

        return voice_chat(state_dir, no_model, voice, voice_out)
    from kiosk.assembly import build_kiosk
    from kiosk.dialogue import decision_fields

    kiosk = build_kiosk(_settings(state_dir, no_model, no_llm), resume_summaries=False)
    _report(kiosk.health)
    conversations = kiosk.conversations
    out = sys.stdout
    for number, line, error in _lines(sys.stdin.buffer):
        if error is not None or line is None:
            _emit(out, {"error": error, "line": number})
            continue
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as err:
            _emit(out, {"error": f"not valid JSON: {err.msg}", "line": number})
            continue
        problem = _chat_request_problem(request)
        if problem:
            _emit(out, {"error": problem, "line": number})
            continue
        session_id = request["session"]
        decision, latency_ms = conversations.turn(session_id, text=request.get("text"), button=request.get("button"))
        _emit(
            out,
            {
                "session": session_id,
                **decision_fields(decision),
                "latency_ms": round(latency_ms, 2),
                **({"ticket": decision.ticket} if decision.ticket else {}),
            },
        )
    # Shutdown order: the summary worker (and the model it uses) before the store, so no
    # summary is left half-written and no thread is inside llama.cpp when the process exits.
    kiosk.close(summary_wait_s=_SUMMARY_EXIT_WAIT_S)


_SUMMARY_EXIT_WAIT_S = 300.0
NLU_LLM_WAIT_S = 60.0  # `kiosk nlu`: longest wait for the LLM's read-ahead before the first line


def _chat_request_problem(request: object) -> str | None:
    if not isinstance(request, dict):
        return "expected a JSON object"
    session = request.get("session")
    if not isinstance(session, str) or not session.strip() or len(session) > 128:
        return "'session' must be a non-empty string of at most 128 characters"
    text, button = request.get("text"), request.get("button")
    if text is None and button is None:
        return "give 'text' or 'button'"
    if text is not None and not isinstance(text, str):
        return "'text' must be a string"
    if button is not None and not isinstance(button, str):
        return "'button' must be a string"
    return None


@app.command()
def run(
    *,
    state_dir: StateOption = _DEFAULT_STATE,
    host: Annotated[str, typer.Option(envvar="KIOSK_HOST", help="Address of the local page.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="KIOSK_PORT", help="Port of the local page.")] = 8080,
    no_model: NoModelOption = False,
    no_llm: NoLlmOption = False,
    config: Annotated[
        Path | None,
        typer.Option(
            envvar="KIOSK_RUNTIME_CONFIG",
            help="TOML file with the runtime settings: a devices table (printer, paper_slips …), budgets, idle time.",
        ),
    ] = None,
) -> None:
    """Start the kiosk: the dialogue engine behind its local page."""
    from kiosk.runtime import RuntimeConfig, load_runtime_config
    from kiosk.web import create_app

    try:
        runtime = RuntimeConfig() if config is None else load_runtime_config(config)
    except ValueError as err:
        typer.echo(f"kiosk: {err}", err=True)
        raise typer.Exit(2) from err
    web, tls = _serving(runtime.web, host, state_dir)
    settings = _settings(
        state_dir, no_model, no_llm, host=host, port=port, runtime=runtime, web=web, side_effects=runtime.side_effects
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal for the previous
    # handler. This one exits with status 0, both then and when the signal comes while the
    # models still load (before uvicorn listens, a no-op handler would swallow a stop).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_on_signal)
    scheme = "https" if tls else "http"
    typer.echo(f"kiosk: serving on {scheme}://{host}:{port} (state in {state_dir})", err=True)
    typer.echo(f"kiosk: the kiosk screen opens {scheme}://127.0.0.1:{port}/kiosk on this machine", err=True)
    from kiosk.sdnotify import Watchdog
    from kiosk.web import serve

    # READY=1 once the page listens, WATCHDOG=1 from the event loop (deploy/systemd/).
    watchdog = Watchdog()
    try:
        serve(
            create_app(settings),
            watchdog,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            ssl_certfile=str(web.tls_cert) if tls else None,
            ssl_keyfile=str(web.tls_key) if tls else None,
            # Proxy headers only from the proxy the settings name (uvicorn would trust loopback by default).
            proxy_headers=web.trusted_proxy is not None,
            forwarded_allow_ips=web.trusted_proxy or "",
        )
    finally:
        watchdog.stop()
        typer.echo("kiosk: stopped", err=True)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serving(web: Any, host: str, state_dir: Path) -> tuple[Any, bool]:
    """The web settings to serve with, and whether over TLS.

    Beyond loopback the kiosk warns and serves HTTPS only: the settings' certificate, or a
    self-signed one made at first start in ``<state>/tls/``.
    """
    from kiosk.web import host_allow_list, is_loopback

    if (web.tls_cert is None) != (web.tls_key is None):
        typer.echo("kiosk: [web] needs both tls_cert and tls_key", err=True)
        raise typer.Exit(2)
    if is_loopback(host):
        return web, web.tls_cert is not None
    names = sorted(host_allow_list(host, web.allowed_hosts))
    if web.tls_cert is None:
        from kiosk.web import ensure_self_signed

        cert, key = ensure_self_signed(state_dir / "tls", names)
        web = web.model_copy(update={"tls_cert": cert, "tls_key": key})
        which = f"a self-signed certificate ({cert}; set [web] tls_cert/tls_key for the branch's own)"
    else:
        which = f"the certificate {web.tls_cert}"
    typer.echo(
        f"kiosk: WARNING: serving beyond this machine on {host}: anyone on the network can reach the page. "
        f"HTTPS only, with {which}. Answering to hosts: {', '.join(names)} ([web] allowed_hosts). "
        "Customer endpoints need the kiosk screen's device token.",
        err=True,
    )
    return web, True


@policy_app.command("manifest")
def policy_manifest(
    directory: Path,
    version: Annotated[str, typer.Option(help="Version of the policy bundle.")],
    origin: Annotated[str, typer.Option(help="'hq' or 'seed'.")] = "hq",
) -> None:
    """Validate a policy directory and write its manifest.json."""
    from bundles import write_manifest
    from kiosk.dialogue import enabled_flows
    from kiosk.intents import INTENT_SET_FEATURE
    from kiosk.policy import PolicyError, load_policy

    try:
        policy = load_policy(directory, verify=False)
        enabled_flows(policy)  # a flow the kiosk does not have is refused here, not at install
    except PolicyError as err:
        typer.echo(f"kiosk: policy rejected: {err}", err=True)
        raise typer.Exit(1) from err
    # A policy that adds intents to the core needs a kiosk that takes its intent set from bundles.
    features = (INTENT_SET_FEATURE,) if policy.added_intents else ()
    manifest = write_manifest(
        directory, name="policy", kind="policy", version=version, origin=origin, requires_features=features
    )
    typer.echo(json.dumps({"name": manifest.name, "version": manifest.version, "files": len(manifest.files)}))


@policy_app.command("check")
def policy_check(directory: Path) -> None:
    """Verify a policy bundle (manifest hashes, schema, and that its flows are registered)."""
    from kiosk.dialogue import enabled_flows
    from kiosk.policy import PolicyError, load_policy

    try:
        policy = load_policy(directory)
        enabled_flows(policy)
    except PolicyError as err:
        typer.echo(f"kiosk: policy rejected: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(json.dumps({"version": policy.version, "ok": True}))


def main() -> None:
    """Console entry point."""
    app()
