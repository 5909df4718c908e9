"""``kiosk admin …``: staff accounts and review labels of the admin page."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kiosk.config import default_state_dir

app = typer.Typer(no_args_is_help=True, help="The branch staff admin page: accounts and labels.")

StateOption = Annotated[
    Path,
    typer.Option("--state-dir", envvar="KIOSK_STATE_DIR", help="State directory (bundles, kiosk.db)."),
]
_DEFAULT_STATE = default_state_dir()


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="'staff' or 'supervisor'.")] = "staff",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    state_dir: StateOption = _DEFAULT_STATE,
) -> None:
    """Create a staff account (the first supervisor is made this way)."""
    from kiosk.admin import AccountError, AdminDB

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = AdminDB(state_dir / "kiosk.db")
    try:
        user = db.create_user(username, password, role)
        db.audit("cli", "create_user", user.username, {"role": user.role})
    except AccountError as err:
        typer.echo(f"kiosk: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        db.close()
    typer.echo(json.dumps({"user": user.username, "role": user.role}))


@app.command("export-labels")
def export_labels(
    out: Annotated[Path | None, typer.Option("--out", help="JSON lines file to write (default: stdout).")] = None,
    state_dir: StateOption = _DEFAULT_STATE,
) -> None:
    """Write staff review labels as training data for HQ: {"text" (masked), "lang", "intent"} per line."""
    from kiosk.admin import AdminDB

    db = AdminDB(state_dir / "kiosk.db")
    try:
        rows = db.labels()
        db.audit("cli", "export_labels", str(out or "-"), {"count": len(rows)})
    finally:
        db.close()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if out is None:
        sys.stdout.write(text)
    else:
        from bundles import atomic_write_bytes

        atomic_write_bytes(out, text.encode("utf-8"))
    typer.echo(f"kiosk: exported {len(rows)} labels", err=True)


@app.command("report")
def report(
    out: Annotated[Path, typer.Option("--out", help="PDF file to write.")],
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: last month).")] = None,
    state_dir: StateOption = _DEFAULT_STATE,
) -> None:
    """Write the monthly compliance report (PDF): outcomes, risk alerts, versions, settings changes, fairness."""
    from kiosk.admin import AdminDB, ReportError, gather, last_month, write_pdf

    if not (state_dir / "kiosk.db").is_file():
        typer.echo(f"kiosk: no kiosk database in {state_dir}", err=True)
        raise typer.Exit(1)
    db = AdminDB(state_dir / "kiosk.db")
    try:
        figures = gather(db, state_dir, month or last_month())
        size = write_pdf(figures, out)
        db.audit("cli", "compliance_report", figures.month, {"out": str(out)})
    except ReportError as err:
        typer.echo(f"kiosk: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        db.close()
    typer.echo(json.dumps({"month": figures.month, "out": str(out), "bytes": size, "turns": figures.overall.turns}))
