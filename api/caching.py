"""Strong ETags and Cache-Control for every data response, and an in-process cache of public bodies.

`respond` serves a body built for this request: its ETag is a hash of the bytes, so a repeated request
with If-None-Match gets 304. `cached` serves the public layers and figures (areas with their figures,
per-area figures) from memory: bodies keyed by (data version, audience, path, query), so that a request
for data that has not changed costs at most one small query (the version, whose reads concurrent requests
share: api.dataversion) and no SQL over the data, no JSON and no compression. The version (migration
0012) is bumped by triggers in every transaction that writes the tables behind these responses: the next
request reads the new version and finds no entry for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import Request, Response

from api.dataversion import newer, read_version
from gis.figures import data_version

# Bodies under this size go out as they are (the same value as GZipMiddleware's minimum_size in api/app.py).
GZIP_MIN = 1024
# Levels by measurement (bodies of the full demo city, zlib 1.3, one core of a 2-core machine):
#                       level 1          3                5               6               9
#   RT layer 4.5 MB:    22 ms 13.2 %     26 ms 10.1 %     39 ms 8.6 %     55 ms 7.6 %     174 ms 6.8 %
#   RT figures 3.3 MB:  20 ms 13.4 %     22 ms  9.3 %     26 ms 8.0 %     40 ms 6.9 %     111 ms 5.9 %
#   households 1.5 MB:   9 ms  9.0 %      7 ms  7.7 %     10 ms 6.5 %     13 ms 5.9 %      39 ms 5.5 %
# A cold request compresses at 3 (zlib's fast strategy; 4 is both slower and larger on these bodies): a
# quarter fewer bytes than 1 for 2-4 ms, 4-7x cheaper than the old 9, so a cold gzip response costs about
# 25 ms over the identity one for the whole RT layer. An entry asked for again is recompressed at 6 in a
# worker thread: another quarter off what every later client downloads, for 40-55 ms once per data
# version; 9 would take 3x that for 10 % less.
# Responses built per request (households, single features, exports) are compressed by GZipMiddleware at
# 5 (api/app.py): a quarter of the CPU of 9 and 20-30 % less than 6, for 5-10 % more bytes than 6.
COLD_LEVEL = 3
WARM_LEVEL = 6
THREAD_MIN = 128 * 1024  # compress larger bodies in a worker thread, off the event loop
ENTRY_OVERHEAD = 512  # bytes counted per entry beyond its bodies and key (the objects around them)


def etag_of(data: bytes) -> str:
    """A strong validator: the same bytes always give the same tag."""
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def _held(request: Request, tags: list[str]) -> str | None:
    """The first of `tags` (current first) that If-None-Match lists: the client holds that representation."""
    inm = request.headers.get("if-none-match")
    if not inm:
        return None
    if inm.strip() == "*":
        return tags[0]
    listed = {t.strip() for t in inm.split(",")}
    return next((t for t in tags if t in listed), None)


def respond(
    request: Request, data: bytes, media_type: str, cache: str, extra: dict[str, str] | None = None
) -> Response:
    """`data` with its ETag and Cache-Control; 304 without a body when the client already holds it."""
    etag = etag_of(data)
    headers = {"ETag": etag, "Cache-Control": cache, **(extra or {})}
    if _held(request, [etag]):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def gzip_bytes(data: bytes, level: int) -> bytes:
    """`data` as one gzip member at `level`."""
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


async def _gzip(data: bytes, level: int) -> bytes:
    if len(data) >= THREAD_MIN:
        return await anyio.to_thread.run_sync(gzip_bytes, data, level)
    return gzip_bytes(data, level)


@dataclass
class Entry:
    """One cached body: identity bytes, gzip bytes once a client asked for them, the headers it goes with."""

    tag: str  # hex; the ETags of its representations are derived from it
    media_type: str
    headers: dict[str, str]
    identity: bytes
    key_size: int
    gzip: bytes | None = None
    level: int = 0
    levels: list[int] = field(default_factory=list)  # every gzip level this entry has sent, latest first
    upgrading: bool = False
    compressing: asyncio.Future[None] | None = None

    @property
    def size(self) -> int:
        return len(self.identity) + len(self.gzip or b"") + self.key_size + ENTRY_OVERHEAD

    def etags(self, gzipped: bool) -> list[str]:
        """The strong tags of a representation, the current one first.

        Gzip bytes differ by level, so each level has its own tag. A client that holds the bytes of an
        earlier level of the same entry (the cold ones before the recompression) still holds a valid
        copy of the same content: its tag keeps matching, and the 304 names that tag (the bytes it
        holds) rather than one its cache could not match with a stored response.
        """
        if not gzipped:
            return [f'"{self.tag}"']
        return [f'"{self.tag}-gz{level}"' for level in self.levels]


@dataclass
class BodyCache:
    """Entries of one data generation, least recently used first, at most `max_bytes` in all."""

    max_bytes: int
    items: OrderedDict[tuple[Any, ...], Entry] = field(default_factory=OrderedDict)
    used: int = 0  # bytes
    generation: str | None = None
    building: dict[tuple[Any, ...], asyncio.Future[Entry | None]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def observe(self, generation: str) -> None:
        """A request read `generation`: once it is newer, entries of the older ones will never be asked for."""
        if newer(generation, self.generation):
            self.items.clear()
            self.used = 0
            self.generation = generation

    def get(self, key: tuple[Any, ...]) -> Entry | None:
        entry = self.items.get(key)
        if entry is not None:
            self.items.move_to_end(key)
        return entry

    def put(self, key: tuple[Any, ...], entry: Entry) -> None:
        """Keep `entry` if it belongs to the current generation and fits (a quarter of the bound at most)."""
        if key[0] != self.generation or entry.size > self.max_bytes // 4 or key in self.items:
            return
        self.items[key] = entry
        self.used += entry.size
        self._trim()

    def set_gzip(self, key: tuple[Any, ...], entry: Entry, data: bytes, level: int) -> None:
        """Give `entry` gzip bytes at `level`, keeping the byte count right if it is still held."""
        held = self.items.get(key) is entry
        if held:
            self.used -= entry.size
        entry.gzip, entry.level = data, level
        entry.levels.insert(0, level)
        if held:
            self.used += entry.size
            self._trim()

    def _trim(self) -> None:
        while self.used > self.max_bytes and self.items:
            _, old = self.items.popitem(last=False)
            self.used -= old.size


def body_cache(request: Request) -> BodyCache | None:
    """The app's body cache (PETA_CACHE_MB; None when 0), made on first use."""
    state = request.app.state
    cache = getattr(state, "body_cache", None)
    if cache is None:
        mb = getattr(getattr(state, "settings", None), "cache_mb", 64)
        if mb <= 0:
            return None
        cache = state.body_cache = BodyCache(mb * 1024 * 1024)
    return cache  # type: ignore[no-any-return]


def wants_gzip(request: Request) -> bool:
    # the same test as GZipMiddleware's: a body it would compress must already carry Content-Encoding
    return "gzip" in request.headers.get("accept-encoding", "")


async def cached(
    request: Request,
    conn: Any,
    build: Callable[[], Awaitable[bytes]],
    *,
    audience: str,
    media_type: str,
    cache_control: str,
    headers: dict[str, str] | None = None,
    query: tuple[Any, ...] | None = None,
    vary_host: bool = False,
    key_extra: tuple[Any, ...] = (),
) -> Response:
    """The body `build` makes for this request, from the cache when the data version has not changed.

    Only for bodies that depend on nothing but the data, the path, the query (the parsed parameters when
    `query` is given, else the query string's items in order), the Host when `vary_host` (links),
    `key_extra` and the caller's `audience` (e.g. published or staff figures): never for personal or
    scope-dependent ones.
    """
    cache = body_cache(request)
    if cache is None:
        return respond(request, await build(), media_type, cache_control, headers)
    generation = await read_version(request, conn)
    cache.observe(generation)
    key = (
        generation, audience, request.url.path, tuple(request.query_params.multi_items()) if query is None else query,
        str(request.base_url) if vary_host else "", *key_extra,
    )  # fmt: skip
    entry = cache.get(key) or await _build(cache, key, conn, build, media_type, headers or {})
    gzipped = wants_gzip(request) and len(entry.identity) >= GZIP_MIN
    if gzipped and entry.gzip is None:
        await _cold_gzip(cache, key, entry)
    elif gzipped and entry.level < WARM_LEVEL and not entry.upgrading:
        _upgrade(cache, key, entry)
    tags = entry.etags(gzipped)
    out = {"ETag": tags[0], "Cache-Control": cache_control, **entry.headers}
    if gzipped or len(entry.identity) < GZIP_MIN:
        out["Vary"] = "Accept-Encoding"  # (GZipMiddleware adds it to the larger identity bodies)
    held = _held(request, tags)
    if held:
        return Response(status_code=304, headers={**out, "ETag": held})
    if gzipped:
        out["Content-Encoding"] = "gzip"
        return Response(entry.gzip, media_type=entry.media_type, headers=out)
    return Response(entry.identity, media_type=entry.media_type, headers=out)


async def _build(
    cache: BodyCache,
    key: tuple[Any, ...],
    conn: Any,
    build: Callable[[], Awaitable[bytes]],
    media_type: str,
    headers: dict[str, str],
) -> Entry:
    """Build the entry of `key` once for every request that asks for it meanwhile."""
    pending = cache.building.get(key)
    if pending is not None:
        shared = await asyncio.shield(pending)
        if shared is not None:
            return shared
    future: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
    if pending is None:
        cache.building[key] = future
    entry = None
    try:
        data = await build()
        text = repr(key)
        # The data was read after the version: it is that version's only if the version is still the
        # same (no commit fell between the two reads). Then the key names the bytes, and so does a tag
        # made from it (every process builds the same bytes for it); otherwise the bytes name themselves
        # and are not kept.
        exact = await data_version(conn) == key[0]
        tag = hashlib.blake2b(text.encode() if exact else data, digest_size=16).hexdigest()
        entry = Entry(tag, media_type, dict(headers), data, len(text))
        if exact:
            cache.put(key, entry)
        return entry
    finally:
        future.set_result(entry)
        if cache.building.get(key) is future:
            del cache.building[key]


async def _cold_gzip(cache: BodyCache, key: tuple[Any, ...], entry: Entry) -> None:
    """Compress an entry at COLD_LEVEL once, however many requests are waiting for it (after a write,
    every client of a popular body asks for the same new entry at once)."""
    if entry.compressing is None:

        async def run() -> None:
            cache.set_gzip(key, entry, await _gzip(entry.identity, COLD_LEVEL), COLD_LEVEL)

        entry.compressing = asyncio.ensure_future(run())
    await asyncio.shield(entry.compressing)


def _upgrade(cache: BodyCache, key: tuple[Any, ...], entry: Entry) -> None:
    """Recompress an entry that is being reused at WARM_LEVEL, in the background."""
    entry.upgrading = True

    async def run() -> None:
        data = await _gzip(entry.identity, WARM_LEVEL)
        cache.set_gzip(key, entry, data, WARM_LEVEL)

    task = asyncio.get_running_loop().create_task(run())
    cache.tasks.add(task)
    task.add_done_callback(cache.tasks.discard)
