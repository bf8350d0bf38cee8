"""The explorer's ASGI app (Starlette): the page, its static assets and the JSON API.

* ``GET /`` -- the page; ``GET /static/...`` -- its script and style sheet (shipped in
  the package: the page needs no network);
* ``GET /api/model`` -- the models, their memory maps, the data set and the limits;
* ``GET /api/image?split=train&label=6&index=0`` -- one image of the data set;
* ``POST /api/trajectory`` -- repeated inference for one input in the chosen models;
* ``POST /api/average`` -- N trials of one setting: mean ± SEM and every trace.

Every error is JSON ``{"error": "one line"}`` with a 4xx status (5xx only for a bug).
The app reads no path from a request and writes no file. Only the ``Host`` names in
``allowed_hosts`` are served (a page elsewhere cannot reach the API by DNS rebinding),
and every response forbids the page to load anything from another origin.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from latentdyn.errors import LatentdynError
from latentdyn.io import parse_json
from latentdyn.explore.averages import average_payload
from latentdyn.explore.calls import request_shape
from latentdyn.explore.compute import image_payload, model_payload, trajectory_payload
from latentdyn.explore.schema import (MAX_BODY_BYTES, BadRequest, parse_average,
                                      parse_image_query, parse_trajectory)
from latentdyn.explore.state import Explorer

STATIC = Path(__file__).resolve().parent / "static"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger("latentdyn.explore")


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`HEADERS` to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in HEADERS if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


class HostCheck:
    """Pure ASGI middleware serving only the ``Host`` names in ``hosts`` (``"*"``: any);
    any other gets the JSON error every other refusal gets (status 400)."""

    def __init__(self, app, hosts: Sequence[str]):
        self.app, self.hosts = app, [h.lower() for h in hosts]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or "*" in self.hosts:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").lower()
        name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0] \
            if host.count(":") == 1 else host
        if name in self.hosts:
            return await self.app(scope, receive, send)
        response = error(f"this server answers only requests for {', '.join(self.hosts)} "
                         f"(the Host header says {host[:60]!r})", 400)
        await response(scope, receive, send)


def error(message: str, status: int) -> JSONResponse:
    line = (str(message).strip().splitlines() or ["error"])[0]
    return JSONResponse({"error": line}, status_code=status)


async def _json_body(request: Request):
    if "application/json" not in request.headers.get("content-type", ""):
        raise BadRequest("send the request as JSON (Content-Type: application/json)", 415)
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes", 413)
    try:
        return parse_json(body.decode("utf-8"),
                          parse_constant=lambda c: _raise(f"{c} is not a number JSON allows"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})", 400) from None


def _raise(message: str):
    raise BadRequest(message, 400)


def create_app(explorer: Explorer, *, allowed_hosts: Sequence[str] | None = None) -> Starlette:
    """The ASGI app serving ``explorer``. ``allowed_hosts``: the ``Host`` names served
    (default: 127.0.0.1 and localhost; ``["*"]`` serves any)."""
    shape = request_shape(explorer)
    model_info = model_payload(explorer)  # fixed while the app lives: computed once

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def model(request: Request):
        return JSONResponse(model_info)

    async def image(request: Request):
        req = parse_image_query(dict(request.query_params), explorer.classes)
        return JSONResponse(image_payload(explorer, req))

    async def trajectory(request: Request):
        req = parse_trajectory(await _json_body(request), **shape)
        return JSONResponse(await run_in_threadpool(trajectory_payload, explorer, req))

    async def average(request: Request):
        req = parse_average(await _json_body(request), **shape)
        return JSONResponse(await run_in_threadpool(average_payload, explorer, req))

    async def bad_request(request: Request, exc: BadRequest):
        return error(str(exc), exc.status)

    async def refused(request: Request, exc: LatentdynError):  # e.g. a model refusing x
        return error(str(exc), 422)

    async def http_error(request: Request, exc: HTTPException):
        return error(exc.detail or "error", exc.status_code)

    async def bug(request: Request, exc: Exception):
        log.exception("internal error")
        return error(f"internal error ({type(exc).__name__}); see the server's log", 500)

    routes = [Route("/", index), Route("/api/model", model), Route("/api/image", image),
              Route("/api/trajectory", trajectory, methods=["POST"]),
              Route("/api/average", average, methods=["POST"]),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(LOCAL_HOSTS)
    return Starlette(routes=routes,
                     middleware=[Middleware(SecurityHeaders),
                                 Middleware(HostCheck, hosts=hosts)],
                     exception_handlers={BadRequest: bad_request, LatentdynError: refused,
                                         HTTPException: http_error, Exception: bug})
