"""What the ``kiosk hq`` commands share: the HQ folder argument, the store option and the store it names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sync.hq_cli.output import fail

HomeArg = Annotated[Path, typer.Argument(help="The HQ repository folder.")]
DbUrlOpt = Annotated[
    str,
    typer.Option(
        "--db-url",
        envvar="KIOSK_HQ_DB_URL",
        help="HQ's store (postgresql+psycopg://… or sqlite:///…); else hq.json's db_url, else HOME/hq.db.",
    ),
]


def store_url(home: Path, db_url: str) -> str:
    """The store HQ uses: ``--db-url`` / ``KIOSK_HQ_DB_URL``, else hq.json's ``db_url``, else ``HOME/hq.db``."""
    from pydantic import ValidationError

    from sync.hq import HqSettings, hq_db_url

    if not db_url and (home / "hq.json").is_file():
        try:
            db_url = HqSettings.model_validate_json((home / "hq.json").read_bytes()).db_url
        except (OSError, ValidationError) as err:
            raise fail(f"{home / 'hq.json'}: {err}") from err
    return hq_db_url(home, db_url)
