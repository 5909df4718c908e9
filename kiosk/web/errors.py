r"""Error answers that never echo what a client sent, and text that must be real Unicode.

A 422 names the fields and what was wrong with them (bounded), never the
input; text that is not valid Unicode (a lone surrogate such as
``"\udc80"`` in JSON, undecodable bytes) is a 400, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

MAX_ERRORS = 10
MAX_PART = 64
MAX_MSG = 160


def _valid_unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("text is not valid Unicode") from err
    return value


# A string field that refuses lone surrogates (they cannot be stored, shown or sent on).
UnicodeText = Annotated[str, AfterValidator(_valid_unicode)]


def _part(value: Any) -> str | int:
    if isinstance(value, int):
        return value
    text = str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= MAX_PART else text[:MAX_PART] + "…"


def safe_errors(errors: Any) -> list[dict[str, Any]]:
    """Field locations, error types and messages of validation errors, without the input, bounded."""
    out: list[dict[str, Any]] = []
    for error in list(errors)[:MAX_ERRORS]:
        if not isinstance(error, dict):
            continue
        msg = str(error.get("msg", "invalid")).encode("utf-8", "replace").decode("utf-8")
        out.append(
            {
                "loc": [_part(p) for p in tuple(error.get("loc", ()))[:8]],
                "type": _part(error.get("type", "invalid")),
                "msg": msg[:MAX_MSG],
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """422 without the input, 400 for text that is not valid Unicode."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": safe_errors(exc.errors())}, status_code=422)

    @app.exception_handler(UnicodeError)
    async def not_unicode(request: Request, exc: UnicodeError) -> JSONResponse:
        return JSONResponse({"detail": "the request is not valid UTF-8 text"}, status_code=400)
