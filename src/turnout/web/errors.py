"""Errors as JSON: one line a person can act on, the right status code, never a traceback
and never a password."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from turnout.errors import BadInput, NotFound, OperationFailed, TransientError, TurnoutError
from turnout.vault import scrub

log = logging.getLogger("turnout.web")

def redact_text(text: str) -> str:
    """Free text (an error, an event, a command line) with the password of any URL in it
    replaced by ***, also when the text was cut short inside the password."""
    return scrub(text)


def status_of(exc: TurnoutError) -> int:
    """404 unknown thing, 400 bad input, 409 wrong state for what is asked, 503 try again."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, BadInput):
        return 400
    if isinstance(exc, OperationFailed):
        return 409
    if isinstance(exc, TransientError):
        return 503
    return 400


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": redact_text(message)}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route every kind of failure through `error`."""

    @app.exception_handler(TurnoutError)
    async def turnout_error(_: Request, exc: TurnoutError) -> JSONResponse:
        return error(status_of(exc), str(exc).replace("\n", "; "))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, describe(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such page or API endpoint: the API lives under /api/ (/openapi.json)"
        return error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the server's log keeps the traceback
        return error(500, f"unexpected {type(exc).__name__}: {exc} (the server log has details)")


def describe(exc: RequestValidationError) -> str:
    """Pydantic's findings as one line naming the field: "source: Field required"."""
    parts = []
    for problem in exc.errors()[:3]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query",
                                                                             "path"))
        parts.append(f"{where or 'request'}: {problem.get('msg', 'invalid')}")
    return "bad request: " + "; ".join(parts)
