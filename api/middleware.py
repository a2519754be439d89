"""Transport limits and headers: request body size, security headers, a CORS allow-list."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, language_headers
from core.settings import Settings

CLIENT_GONE = "peta.client_gone"  # set in the scope by api.limits.cancel_on_disconnect before it cancels

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # the verifier's phone page asks for its own GPS position; nothing else is allowed
    (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=()"),
    # Folium writes inline scripts; tiles come from OpenStreetMap
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob: https://tile.openstreetmap.org https://*.tile.openstreetmap.org; "
        b"connect-src 'self'; frame-ancestors 'none'",
    ),
]


# The API documentation pages (api.app.serve_docs): scripts only from this server, plus the page's own inline
# ones by hash (Swagger UI is started by one); no 'unsafe-inline' script. Redoc indexes for its search in a
# worker it makes from a blob: URL. Both set style attributes, hence the inline styles.
DOCS_CSP = ("default-src 'self'; script-src 'self'{hashes}; worker-src {workers}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")  # fmt: skip
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: bytes, *, blob_workers: bool = False) -> str:
    """The content security policy of one documentation page: its inline scripts allowed by their hashes."""
    hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                     for s in _INLINE_SCRIPT.findall(page))  # fmt: skip
    return DOCS_CSP.format(hashes=hashes, workers="'self' blob:" if blob_workers else "'self'")


class SecurityHeadersMiddleware:
    """Add the security headers to every response, the 500 of an unhandled error included.

    A response that sets one of them itself keeps its own (the documentation pages' policy: `docs_policy`).
    It must wrap Starlette's ServerErrorMiddleware, which answers those 500s from outside every middleware
    added with `add_middleware`: see `api.app.PetaApp`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in own)]
            await send(message)

        await self.app(scope, receive, with_headers)


class LimitsMiddleware:
    """Refuse request bodies over `max_body` bytes with 413, as soon as the limit is crossed.

    A declared Content-Length over the limit is refused before anything is read. A chunked body is counted
    as the app reads it: the message that crosses the limit is not passed on; the 413 is sent at once (the
    connection then closes, the rest of the body unread) and the app is told the client has gone, so it
    stops; whatever it still sends is dropped.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(scope, send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                refused = True
                if not started:
                    await self._refuse(scope, send)
                return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return  # answered already
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """The 413, like every other error: its error_code and its detail in the client's language."""
        request = Request(scope)
        body = json.dumps(error_body(request, 413, f"request body larger than {self.max_body:,} bytes")).encode()
        language = [(k.lower().encode(), v.encode()) for k, v in language_headers(request).items()]
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   *language, (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class ClientGoneMiddleware:
    """End quietly a request cancelled because its client disconnected (`api.limits.cancel_on_disconnect`).

    Nothing is sent: nobody is there to read it. Any other cancellation propagates.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if not scope.get(CLIENT_GONE):
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()


def install(app: FastAPI, settings: Settings) -> None:
    """Body limits always; CORS only for the configured origins (the security headers: `api.app.PetaApp`)."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,  # type: ignore[arg-type]
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(LimitsMiddleware, max_body=settings.max_body_bytes)  # type: ignore[arg-type]
    app.add_middleware(AllowHeaderMiddleware, router_app=app)  # type: ignore[arg-type]


class AllowHeaderMiddleware:
    """A 405 names every method the path accepts (Starlette names only the first matching route's)."""

    def __init__(self, app: ASGIApp, router_app: Any) -> None:
        self.app = app
        self.router_app = router_app

    def _allowed(self, scope: Scope) -> str:
        from starlette.routing import Match

        methods = [
            m for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in self.router_app.routes)
        ]  # fmt: skip
        if "GET" in methods:
            methods.append("HEAD")
        return ", ".join(methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def patched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", self._allowed(scope).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, patched)
