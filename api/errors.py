"""The one error map: domain errors to HTTP statuses with safe messages, registered once.

Every error body carries `error_code`, a stable machine-readable code (api.messages), and its text in the language
the client asks for with Accept-Language (Bahasa Indonesia or English; English without the header)."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from api import messages
from core.errors import (
    AuthError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    InputError,
    NotFound,
    PetaError,
    QueryTimeout,
    ServerBusy,
    Throttled,
)

log = logging.getLogger("peta.api")

STATUS: dict[type[PetaError], int] = {
    InputError: 400,
    AuthError: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Throttled: 429,
    DatabaseUnavailable: 503,
}


def _status_for(exc: PetaError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


async def _peta_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PetaError)
    status = _status_for(exc)
    if status >= 500:  # a busy server or a slow query is load, not a fault
        level = logging.WARNING if isinstance(exc, ServerBusy | QueryTimeout) else logging.ERROR
        log.log(level, "%s %s: %s", request.method, request.url.path, exc)
        detail = exc.detail if isinstance(exc, DatabaseUnavailable) else "internal error"
    else:
        detail = str(exc)
    headers = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Throttled | DatabaseUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, InputError) and exc.problems:  # the head is worded again; each problem stays as written
        detail = str(exc.args[0]) if exc.args else detail
    body = error_body(request, status, detail)
    if isinstance(exc, InputError) and exc.problems:
        body["detail"] = "\n".join([str(body["detail"]), *(f"  - {p}" for p in exc.problems)])
        if "description" in body:
            body["description"] = body["detail"]
        body["problems"] = exc.problems  # one line per bad row or setting, for a report
    return JSONResponse(body, status_code=status, headers={**headers, **language_headers(request)})


def database_error(request: Request, exc: Exception) -> DatabaseUnavailable:
    """The 503 a driver or pool failure is: a statement over its time bound, a full pool, or an outage.

    A pool that times out while it holds all the connections it may open is busy; one that could not open
    them (the server is down or refuses) is an outage.
    """
    if isinstance(exc, psycopg.errors.QueryCanceled):
        budget = getattr(request.state, "budget", None)
        bound = (f"over {budget.timeout_ms:,} ms, the bound for {budget.tier} requests ({budget.timeout_setting})"
                 if budget is not None else "over the statement timeout (PETA_STATEMENT_TIMEOUT_MS)")  # fmt: skip
        return QueryTimeout(str(exc), f"the query took too long: {bound}; narrow it (a smaller bbox, a simpler "
                                      "filter, a lower limit) or retry later")  # fmt: skip
    if isinstance(exc, PoolTimeout):
        pool = getattr(request.app.state, "pool", None)
        stats = pool.get_stats() if pool is not None else {}
        if pool is not None and stats.get("pool_size", 0) >= pool.max_size and not stats.get("pool_available"):
            return ServerBusy(str(exc))
    return DatabaseUnavailable(str(exc))


OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
             413: "PayloadTooLarge", 429: "TooManyRequests", 503: "ServiceUnavailable"}  # fmt: skip


def lang_of(request: Request) -> str:
    """The language the client asked for (Accept-Language), among api.messages.LANGS."""
    return messages.negotiate(request.headers.get("accept-language"))


def language_headers(request: Request) -> dict[str, str]:
    """The headers of an error worded in the client's language: which language, and that it depends on the ask."""
    return {"Content-Language": lang_of(request), "Vary": "Accept-Language"}


def error_body(request: Request, status: int, detail: str, code: str | None = None) -> dict[str, object]:
    """{"detail": ..., "error_code": ...} in the client's language; OGC API paths also get the standard exception
    fields (code, description). `code` given: `detail` is already worded in that language."""
    if code is None:
        code, detail = messages.localize(detail, status, lang_of(request))
    if request.url.path.startswith("/ogc"):
        return {"code": OGC_CODES.get(status, "ServerError"), "description": detail, "detail": detail,
                "error_code": code}
    return {"detail": detail, "error_code": code}


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI could not parse: 400 naming each bad parameter (never 422)."""
    assert isinstance(exc, RequestValidationError)
    lang = lang_of(request)
    reasons, fields = [], []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header"))
        name = where or ("permintaan" if lang == "id" else "request")
        reasons.append(f"{name}: {messages.validation_text(err, lang)}")
        fields.append({"name": where or "request", "type": str(err.get("type", "invalid"))})
    detail = "; ".join(reasons) or messages.GENERIC[400].text[lang]
    body = error_body(request, 400, detail, "invalid_parameter")
    body["parameters"] = fields  # which parameter, and pydantic's stable error type for it
    return JSONResponse(body, status_code=400, headers=language_headers(request))


NUL = "a text value holds a NUL character (0x00), which no field can store"


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """psycopg refuses a NUL in any text it sends (a client's bytes, in a parameter or a body): 400, not a fault.
    Every other data error is the product's own mistake."""
    assert isinstance(exc, psycopg.DataError)
    if exc.sqlstate is None and "NUL" in str(exc):
        return JSONResponse(error_body(request, 400, NUL), status_code=400, headers=language_headers(request))
    return await _unexpected(request, exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such path: 404; a method the path does not take: 405, with Allow)."""
    assert isinstance(exc, HTTPException)
    headers = {**(exc.headers or {}), **language_headers(request)}
    body = error_body(request, exc.status_code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(request, 500, "internal error"), status_code=500,  # /ogc: with the OGC fields
                        headers=language_headers(request))


def register(app: FastAPI) -> None:
    """Install the handlers on an app."""
    app.add_exception_handler(PetaError, _peta_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
