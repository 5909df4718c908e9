"""``kiosk hq enrol|revoke|kiosks|labels|add-user``: kiosk identities, labels from the fleet, HQ operators.

Registered on the ``kiosk hq`` group by :func:`register`.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from sync.hq_cli.options import DbUrlOpt, HomeArg, store_url
from sync.hq_cli.output import fail, print_json


def enrol(
    home: HomeArg,
    kiosk_id: Annotated[str, typer.Option("--kiosk-id", help="The kiosk's id (as `kiosk sync init` printed).")],
    public_key: Annotated[Path, typer.Option("--public-key", help="File with the kiosk's public key (device.pub).")],
    db_url: DbUrlOpt = "",
) -> None:
    """Enrol a kiosk: HQ takes its signed reports, labels and counts from now on."""
    from sync.errors import HqError
    from sync.hq import HqDB

    try:
        text = public_key.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as err:
        raise fail(f"cannot read public key {public_key}: {err}") from err
    try:
        db = HqDB(store_url(home, db_url))
        try:
            enrolment = db.enrol(kiosk_id, text)
        finally:
            db.close()
    except HqError as err:
        raise fail(str(err)) from err
    print_json(
        {"kiosk_id": enrolment.kiosk_id, "public_key": enrolment.public_key, "enrolled_at": enrolment.enrolled_at}
    )


def revoke(
    home: HomeArg, kiosk_id: Annotated[str, typer.Argument(help="The kiosk to revoke.")], db_url: DbUrlOpt = ""
) -> None:
    """Revoke a kiosk: every further message from it is refused."""
    from sync.errors import HqError
    from sync.hq import HqDB

    try:
        db = HqDB(store_url(home, db_url))
        try:
            db.revoke(kiosk_id)
        finally:
            db.close()
    except HqError as err:
        raise fail(str(err)) from err
    print_json({"kiosk_id": kiosk_id, "revoked": True})


def kiosks(home: HomeArg, db_url: DbUrlOpt = "") -> None:
    """List enrolled kiosks (one JSON line each)."""
    from sync.errors import HqError
    from sync.hq import HqDB

    try:
        db = HqDB(store_url(home, db_url))
    except HqError as err:
        raise fail(str(err)) from err
    try:
        for enrolment in db.enrolments():
            print_json(asdict(enrolment))
    finally:
        db.close()


def labels(
    home: HomeArg,
    accept: Annotated[int | None, typer.Option("--accept", help="Accept the label of this id.")] = None,
    reject: Annotated[int | None, typer.Option("--reject", help="Reject the label of this id.")] = None,
    status: Annotated[str | None, typer.Option(help="List only 'new', 'accepted' or 'rejected'.")] = None,
    db_url: DbUrlOpt = "",
) -> None:
    """List labels from the fleet (masked text, intent, versions, status), or judge one."""
    from sync.errors import HqError
    from sync.hq import HqDB

    if accept is not None and reject is not None:
        raise fail("--accept and --reject exclude each other")
    try:
        db = HqDB(store_url(home, db_url))
        try:
            if accept is not None:
                print_json(db.judge(accept, "accepted", by="cli"))
                return
            if reject is not None:
                print_json(db.judge(reject, "rejected", by="cli"))
                return
            for row in db.labels(status):
                print_json(row)
        finally:
            db.close()
    except HqError as err:
        raise fail(str(err)) from err


def add_user(
    home: HomeArg,
    username: Annotated[str, typer.Argument(help="The operator's user name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    role: Annotated[
        str, typer.Option(help="'operator' (sees every console page, accepts/rejects labels) or 'viewer' (sees).")
    ] = "operator",
) -> None:
    """Create an HQ console account (signs in to /fleet)."""
    from kiosk.admin import AccountError
    from sync.hq import ACCOUNT_ROLE, open_operators

    if role not in ACCOUNT_ROLE:
        raise fail(f"role must be one of {', '.join(ACCOUNT_ROLE)}")

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = open_operators(home)
    try:
        user = db.create_user(username, password, ACCOUNT_ROLE[role])
        db.audit("cli", "hq_add_user", user.username, {"role": role})
    except AccountError as err:
        raise fail(str(err)) from err
    finally:
        db.close()
    print_json({"user": user.username, "role": role})


def register(hq_app: typer.Typer) -> None:
    """Add these commands to ``kiosk hq``."""
    hq_app.command("enrol")(enrol)
    hq_app.command("revoke")(revoke)
    hq_app.command("kiosks")(kiosks)
    hq_app.command("labels")(labels)
    hq_app.command("add-user")(add_user)
