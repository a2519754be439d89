"""Feature collections for OGC API – Features: areas with their figures, and households for authorised roles.

Every collection is a SQL source (a subquery yielding `fid`, `geom` and its properties by name) plus
its queryables. A request's filters (bbox, property equality, CQL2) become one WHERE over that source,
and the features are written as GeoJSON text inside PostgreSQL: geometry is never decoded in Python.

Who sees what:
- area collections: everyone; the figures are the published (small-cell suppressed) ones, except for
  Dinsos staff (admin, coordinator), who read `area_figures`;
- households: admin everywhere; coordinators and verifiers in their area scope, with masked KK/NIK,
  names and addresses; agencies only with a points agreement, as pseudonymous records whose points are
  geomasked inside their kelurahan and without names, addresses or identity numbers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from core.crs import INDONESIA_UTM
from core.errors import InputError
from core.levels import PREFIX
from core.principal import Principal
from core.scope import area_scope, household_view, sees_staff_figures
from gis.cql import GEOMETRY, Queryable, to_sql
from gis.scope_sql import records_sql

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
# in and out: longitude/latitude either way round, and the WGS 84 / UTM zones of Indonesia (46-54, north and south)
UTM_CRS = {f"{EPSG_URI}{code}": code for code in INDONESIA_UTM}
SUPPORTED_CRS = (CRS84, EPSG4326, *UTM_CRS)
_CRS_ALIASES = {
    "crs84": CRS84, "ogc:crs84": CRS84, "[ogc:crs84]": CRS84, "epsg:4326": EPSG4326, "[epsg:4326]": EPSG4326,
    **{form.format(code): uri for uri, code in UTM_CRS.items() for form in ("epsg:{}", "[epsg:{}]")},
}  # fmt: skip
AREA_LEVELS = ("kecamatan", "kelurahan", "rw", "rt")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Crs:
    """An output or input CRS: its URI, SRID and whether coordinates are latitude first."""

    uri: str
    srid: int
    flip: bool
    decimals: int


def parse_crs(value: str | None, what: str = "crs") -> Crs:
    """The CRS named by a URI or a short form (CRS84, EPSG:4326, EPSG:32748, ...); InputError otherwise."""
    if value is None or value == "":
        return Crs(CRS84, 4326, False, 6)
    uri = _CRS_ALIASES.get(value.strip().lower(), value.strip())
    uri = uri.replace("https://", "http://")
    if uri == CRS84:
        return Crs(CRS84, 4326, False, 6)
    if uri == EPSG4326:
        return Crs(EPSG4326, 4326, True, 6)
    if uri in UTM_CRS:
        return Crs(uri, UTM_CRS[uri], False, 3)
    raise InputError(
        f"{what}: unsupported CRS {value!r}; use {CRS84}, {EPSG4326} or a UTM zone of Indonesia, "
        f"{EPSG_URI}32646 to 32654 (north of the equator) or {EPSG_URI}32746 to 32754 (south)"
    )


# --- collections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry_type: str
    queryables: dict[str, Queryable]
    order: str  # default sort property (unique)
    level: str | None = None
    personal: bool = False


def _t(name: str) -> sql.Composable:
    return sql.Identifier("t", name)


# Counts stored per area; every one of them sums from RTs up to the city.
COUNTS = (
    "families", "people", "removed_families",
    "poor_bps_families", "poor_bps_people", "poor_local_families", "poor_local_people",
    "poor_official_families", "poor_official_people",
    "fakir_miskin_families", "miskin_families", "rentan_families",
    "verified_families", "target_families", "target_verified",
    "recipients_pkh", "recipients_bpnt", "recipients_pbi_jk", "recipients_bpjs_tk", "recipients_local",
    "poor_without_pkh", "poor_without_bpnt", "poor_without_pbi_jk", "poor_without_bpjs_tk",
    "poor_without_local", "inclusion_errors", "desil_disagree",
)  # fmt: skip
_AREA_BASE = {
    "code": ("string", "Area code (Kemendagri prefix; RW and RT add 3 digits each)"),
    "name": ("string", "Area name"),
    "parent_code": ("string", "Code of the parent area"),
    "population": ("integer", "Residents (census or estimate)"),
    "area_m2": ("number", "Area in square metres"),
}
_AREA_DERIVED = {
    "last_verval": ("date", "Date of the last verification in the area"),
    "days_since_verval": ("integer", "Days since the last verification"),
    "poverty_rate_pct": ("number", "Poor people (BPS criteria) per 100 residents"),
    "expected_poor_people": ("integer", "Residents x the city poverty rate"),
    "under_coverage_people": ("integer", "Expected poor minus registered poor (BPS criteria)"),
    "coverage_pct": ("number", "Verified families per 100 registered families"),
    "target_coverage_pct": ("number", "Verified target families per 100 target families"),
}
AREA_PROPERTIES = (*_AREA_BASE, "level", *COUNTS, *_AREA_DERIVED, "suppressed")


def _area_queryables() -> dict[str, Queryable]:
    q = {n: Queryable(_t(n), kind, d) for n, (kind, d) in _AREA_BASE.items()}
    q.update({n: Queryable(_t(n), "integer", n.replace("_", " ")) for n in COUNTS})
    q.update({n: Queryable(_t(n), kind, d) for n, (kind, d) in _AREA_DERIVED.items()})
    q[GEOMETRY] = Queryable(_t("geom"), "geometry", "Boundary")
    return q


HOUSEHOLD_STAFF_PROPERTIES = {
    "id": ("integer", "Record number"),
    "rt_code": ("string", "RT the family is placed in"),
    "kk_masked": ("string", "KK number, masked"),
    "nik_kepala_masked": ("string", "Head of family NIK, masked"),
    "nama_kepala": ("string", "Head of family"),
    "alamat": ("string", "Address"),
    "jumlah_anggota": ("integer", "Family members"),
    "bps_count": ("integer", "BPS criteria met (0-14)"),
    "score": ("number", "Poverty score 0-100 (configured weights)"),
    "local_desil": ("integer", "Local desil 1-10 (1 poorest)"),
    "category": ("string", "fakir_miskin, miskin or rentan"),
    "desil_resmi": ("integer", "Official (DTSEN) desil"),
    "programs": ("array", "Programmes received"),
    "tgl_verval": ("date", "Date of the last verification"),
    "hasil_verval": ("integer", "Result code of the last verification"),
    "placement": ("string", "How the RT was found: point, nearest or code"),
    **{f"k{i:02d}": ("boolean", f"BPS criterion {i}") for i in range(1, 15)},
}
HOUSEHOLD_AGENCY_PROPERTIES = {
    "pseudonym": ("string", "Stable pseudonymous identifier (not a KK number)"),
    "kelurahan_code": ("string", "Kelurahan of the family"),
    "jumlah_anggota": ("integer", "Family members"),
    "bps_count": ("integer", "BPS criteria met (0-14)"),
    "score": ("number", "Poverty score 0-100"),
    "local_desil": ("integer", "Local desil 1-10 (1 poorest)"),
    "category": ("string", "fakir_miskin, miskin or rentan"),
    "desil_resmi": ("integer", "Official (DTSEN) desil"),
    "programs": ("array", "Programmes received"),
    "hasil_verval": ("integer", "Result code of the last verification"),
}


def _household_queryables(props: dict[str, tuple[str, str]]) -> dict[str, Queryable]:
    q = {n: Queryable(_t(n), kind, d) for n, (kind, d) in props.items() if kind != "array"}
    q[GEOMETRY] = Queryable(_t("geom"), "geometry", "Location")
    return q


COLLECTIONS: dict[str, Collection] = {
    level: Collection(
        id=level,
        title={"kecamatan": "Kecamatan", "kelurahan": "Kelurahan", "rw": "RW", "rt": "RT"}[level],
        description=f"{level.upper() if level in ('rw', 'rt') else level.title()} boundaries with their population, "
        "registry, poverty and verification figures (counts under 5 families suppressed for the public).",
        geometry_type="MultiPolygon",
        queryables=_area_queryables(),
        order="code",
        level=level,
    )
    for level in AREA_LEVELS
}
COLLECTIONS["households"] = Collection(
    id="households",
    title="Keluarga (households)",
    description="Registered families as points, for authorised roles only: fields and area by role; "
    "agencies with an agreement get pseudonymous records with geomasked points.",
    geometry_type="Point",
    queryables=_household_queryables(HOUSEHOLD_STAFF_PROPERTIES),
    order="id",
    personal=True,
)


def queryables_for(collection: Collection, principal: Principal | None = None) -> dict[str, Queryable]:
    """The queryables a caller may filter on (agencies: only the fields they receive)."""
    if collection.personal and household_view(principal) == "agency":
        return _household_queryables(HOUSEHOLD_AGENCY_PROPERTIES)
    return collection.queryables


# --- sources -------------------------------------------------------------------------------------


def _area_source(level: str, staff: bool) -> tuple[sql.Composable, list[str]]:
    figures = sql.Identifier("area_figures" if staff else "area_stats_public")
    cols = ", ".join(f"f.{c}" for c in (*COUNTS, *[d for d in _AREA_DERIVED if d != "days_since_verval"]))
    src = sql.SQL(
        "SELECT a.code AS fid, f.kota_code AS kota, a.geom, a.code, a.name, a.level, a.parent_code, a.population,"
        " round(a.area_m2::numeric) AS area_m2, " + cols + ", current_date - f.last_verval AS days_since_verval,"
        " f.suppressed FROM area a JOIN {} f ON f.code = a.code WHERE a.level = {}"
    ).format(figures, sql.Literal(level))
    return src, list(AREA_PROPERTIES)


def _household_source(principal: Principal | None) -> tuple[sql.Composable, list[str]]:
    """The families this principal may read (core.scope, for every role and format alike), with `hid`, the
    record number the audit names (never a property)."""
    src: sql.Composable
    if household_view(principal) == "staff":
        crit = ", ".join(f"h.k{i:02d}" for i in range(1, 15))
        src = sql.SQL(
            "SELECT h.id AS fid, h.id AS hid, h.kota_code AS kota, h.geom, h.id, h.rt_code, h.kk_masked,"
            " h.nik_kepala_masked, h.nama_kepala, h.alamat,"
            " h.jumlah_anggota, h.bps_count, r.score, r.local_desil, r.category, h.desil_resmi, h.programs,"
            " h.tgl_verval, h.hasil_verval, h.placement, " + crit + " FROM household h"
            " LEFT JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id WHERE {}"
        ).format(records_sql(principal))
        return src, list(HOUSEHOLD_STAFF_PROPERTIES)
    src = sql.SQL(
        "SELECT left(h.kk_hash, 16) AS fid, h.id AS hid, h.kota_code AS kota,"
        " peta_geomask(h.geom, k.geom, h.kk_hash || ':geomask',"
        " (SELECT peta_cfg('disclosure', 'geomask_min_m')), (SELECT peta_cfg('disclosure', 'geomask_max_m'))) AS geom,"
        " h.geom AS true_geom, left(h.kk_hash, 16) AS pseudonym, k.code AS kelurahan_code, h.jumlah_anggota,"
        " h.bps_count, r.score, r.local_desil, r.category, h.desil_resmi, h.programs, h.hasil_verval"
        " FROM household h JOIN area k ON k.code = left(h.rt_code, 13) AND k.level = 'kelurahan'"
        " LEFT JOIN household_rank r ON r.kota_code = h.kota_code AND r.household_id = h.id"
        " WHERE h.geom IS NOT NULL AND {}"
    ).format(records_sql(principal))
    return src, list(HOUSEHOLD_AGENCY_PROPERTIES)


def source(collection: Collection, principal: Principal | None) -> tuple[sql.Composable, list[str]]:
    """The collection's SQL source for this caller and the properties it yields."""
    if collection.personal:
        return _household_source(principal)
    return _area_source(collection.level or "", sees_staff_figures(principal))


# --- requests ------------------------------------------------------------------------------------


@dataclass
class ItemsQuery:
    """A parsed, validated items request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, ...] | None = None
    bbox_crs: Crs = field(default_factory=lambda: parse_crs(None))
    crs: Crs = field(default_factory=lambda: parse_crs(None))
    equals: dict[str, str] = field(default_factory=dict)
    cql: dict[str, Any] | None = None
    filter_crs: Crs = field(default_factory=lambda: parse_crs(None))
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    properties: list[str] | None = None
    fid: str | None = None
    extra: sql.Composable | None = None  # a further condition over `t` (spatial queries)
    nearest: tuple[float, float] | None = None  # order by distance from this lon/lat instead of sortby
    masked: bool = False  # the source's geometry is geomasked (agency households): prefilter on the true one


def _lon_stretch(box: tuple[float, ...], crs: Crs) -> float:
    """How many times longer a degree of latitude is than one of longitude at the box's worst latitude."""
    import math

    if crs.srid != 4326:
        return 1.0 / math.cos(math.radians(60))  # a UTM box: any latitude of this zone's use
    lats = (box[0], box[2]) if crs.flip else (box[1], box[3])
    worst = min(max(abs(v) for v in lats), 85.0)
    return 1.0 / math.cos(math.radians(worst)) * 1.01


def _typed_equal(q: Queryable, name: str, raw: str) -> sql.Composable:
    caster = {"integer": int, "number": float}.get(q.type)
    if q.type == "boolean":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise InputError(f"{name}: {raw!r} is not true or false")
        return sql.SQL("{} = {}").format(q.expr, sql.Literal(raw.lower() in ("true", "1")))
    if caster:
        try:
            value: Any = caster(raw)
        except ValueError as exc:
            raise InputError(f"{name}: {raw!r} is not a{'n integer' if caster is int else ' number'}") from exc
        return sql.SQL("{} = {}").format(q.expr, sql.Literal(value))
    if q.type == "date":
        return sql.SQL("{}::text = {}").format(q.expr, sql.Literal(raw))
    return sql.SQL("{} = {}").format(q.expr, sql.Literal(raw))


def _envelope(q: ItemsQuery) -> sql.Composable:
    """The request's bbox as an EPSG:4326 polygon."""
    assert q.bbox is not None
    box = q.bbox
    if q.bbox_crs.flip:  # EPSG:4326 axis order: lat, lon
        box = (box[1], box[0], box[3], box[2])
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(*map(sql.Literal, box), sql.Literal(q.bbox_crs.srid))
    if q.bbox_crs.srid != 4326:
        env = sql.SQL("ST_Transform({}, 4326)").format(env)
    return env


def _where(q: ItemsQuery, queryables: dict[str, Queryable]) -> sql.Composable:
    conds: list[sql.Composable] = []
    if q.fid is not None:
        conds.append(sql.SQL("t.fid::text = {}").format(sql.Literal(q.fid)))
    if q.bbox is not None:
        env = _envelope(q)
        conds.append(sql.SQL("t.geom && {env} AND ST_Intersects(t.geom, {env})").format(env=env))
        if q.masked:
            # a masked point lies at most geomask_max_m from the true one: only those near the box are
            # masked at all (the index on the true points finds them)
            near = sql.SQL(
                "ST_Expand({env}, (SELECT peta_cfg('disclosure', 'geomask_max_m')) / 110000.0 * {stretch})"
            ).format(env=env, stretch=sql.Literal(_lon_stretch(q.bbox, q.bbox_crs)))
            conds.insert(0, sql.SQL("t.true_geom && {}").format(near))
    for name, raw in q.equals.items():
        conds.append(_typed_equal(queryables[name], name, raw))
    if q.cql is not None:
        conds.append(to_sql(q.cql, queryables, _t("geom"), q.filter_crs.srid, q.filter_crs.flip))
    if q.extra is not None:
        conds.append(q.extra)
    return sql.SQL(" AND ").join(conds) if conds else sql.SQL("TRUE")


def _geometry_out(crs: Crs, polygons: bool) -> sql.Composable:
    geom: sql.Composable = sql.SQL("t.geom")
    if crs.srid != 4326:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(crs.srid))
    if polygons:
        geom = sql.SQL("ST_ForcePolygonCCW({})").format(geom)  # RFC 7946 ring order
    if crs.flip:
        geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
    return sql.SQL("COALESCE(ST_AsGeoJSON({}, {}, 0), 'null')").format(geom, sql.Literal(crs.decimals))


def _properties_json(names: Sequence[str]) -> sql.Composable:
    if not names:
        return sql.SQL("'{}'")
    pairs = sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(n), _t(n)) for n in names)
    return sql.SQL("json_build_object({})::text").format(pairs)


def _order(q: ItemsQuery, collection: Collection, queryables: dict[str, Queryable]) -> sql.Composable:
    if q.nearest is not None:  # index-assisted k-nearest, exact distance as the tie-break
        pt = sql.SQL("ST_SetSRID(ST_MakePoint({}, {}), 4326)").format(*map(sql.Literal, q.nearest))
        return sql.SQL("t.geom <-> {pt}, ST_Distance(t.geom::geography, {pt}::geography), t.fid").format(pt=pt)
    keys: list[sql.Composable] = [
        sql.SQL("{} {}").format(queryables[n].expr, sql.SQL("DESC NULLS LAST" if d else "ASC NULLS FIRST"))
        for n, d in q.sortby
    ]
    keys.append(sql.SQL("t.fid"))
    return sql.SQL(", ").join(keys)


@dataclass(frozen=True)
class CompiledItems:
    """An items request compiled once for one collection and one caller: every statement built from it (the
    page, its count, an export, its freeze) shares this source, WHERE (a CQL2 filter is translated here, once)
    and ORDER BY."""

    collection: Collection
    q: ItemsQuery
    source: sql.Composable
    available: list[str]  # the properties this caller may read
    queryables: dict[str, Queryable]
    where: sql.Composable
    order: sql.Composable
    kotas: tuple[str, ...] | None = None  # the kab/kota the request can reach, once routed (None: any)
    scope_kotas: tuple[str, ...] | None = None  # the kab/kota holding every family the caller may read (None: any)

    @property
    def names(self) -> list[str]:
        """The properties to return: those asked for (in the source's order), else every available one."""
        return self.available if self.q.properties is None else [p for p in self.available if p in self.q.properties]

    def restricted(self, condition: sql.Composable) -> CompiledItems:
        """The same request, also bounded by `condition` over `t`."""
        return dataclasses.replace(self, where=sql.SQL("({}) AND {}").format(self.where, condition))


def compile_items(collection: Collection, principal: Principal | None, q: ItemsQuery) -> CompiledItems:
    """Build the request's SQL once; InputError (a 400) when its filter names what this caller may not read."""
    src, available = source(collection, principal)
    queryables = queryables_for(collection, principal)
    return CompiledItems(
        collection, q, src, available, queryables, _where(q, queryables), _order(q, collection, queryables),
        scope_kotas=scope_kotas(principal),
    )


def feature_sql(c: CompiledItems) -> sql.Composed:
    """SELECT feature_text, ... over the filtered, ordered source (no paging): for pages and streams."""
    feature = sql.SQL(
        """'{{"type":"Feature","id":' || to_json(t.fid)::text || ',"geometry":' || {geom}"""
        """ || ',"properties":' || {props} || '}}'"""
    ).format(geom=_geometry_out(c.q.crs, c.collection.geometry_type != "Point"), props=_properties_json(c.names))
    return sql.SQL(
        "SELECT {feature} AS feature, t.fid, {hid} AS hid FROM ({src}) t WHERE {where} ORDER BY {order}"
    ).format(
        feature=feature, src=c.source, where=c.where, order=c.order,
        hid=sql.SQL("t.hid" if c.collection.personal else "NULL"),
    )  # fmt: skip


@dataclass
class Page:
    matched: int
    returned: int
    features: str  # a JSON array of features, as text
    ids: list[str]  # households: the record numbers read, for the audit (agencies too, not their pseudonyms)
    stamp: datetime | None = None  # the response's timeStamp
    kotas: tuple[str, ...] | None = None  # the kab/kota the read was bounded to (routed), for the audit's lookup


async def kotas_near(conn: AsyncConnection[Any], envelope: sql.Composable) -> tuple[str, ...]:
    """The kab/kota whose families can lie in an EPSG:4326 envelope: those whose boundary's box, or the box of
    their points beyond it (area_reach, kept exact by migration 0030's trigger), meets it. Read from the boundaries
    (reference tables on Citus: no shard is asked), through their spatial indexes."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT code FROM area WHERE geom && {e} AND level = 'kota'"
            " UNION SELECT code FROM area_reach WHERE extent && {e} ORDER BY 1"
        ).format(e=envelope)
    )
    return tuple(r[0] for r in await cur.fetchall())


def scope_kotas(principal: Principal | None) -> tuple[str, ...] | None:
    """The kab/kota holding every family a caller bounded by area alone may read (records_sql: a coordinator, an
    agency with a points agreement); None when that is not known from the scope's codes (a province, no scope, a
    verifier, who also reads the families assigned to them)."""
    if getattr(principal, "role", None) not in ("coordinator", "agency"):
        return None
    codes = area_scope(principal)
    if not codes or any(len(c) < PREFIX["kota"] for c in codes):
        return None
    return tuple(sorted({c[: PREFIX["kota"]] for c in codes}))


async def routed(conn: AsyncConnection[Any], c: CompiledItems) -> CompiledItems:
    """The request bounded to the kab/kota it can reach, by the distribution key: those its bbox can hold (from the
    boundaries) and, for families, those of the caller's scope. On Citus one city's request is then answered by that
    city's shard group alone (one task) instead of every shard; on PostGIS it reads the same rows."""
    if c.kotas is not None:
        return c
    kotas = c.scope_kotas if c.collection.personal else None
    if c.q.bbox is not None:
        near = await kotas_near(conn, _envelope(c.q))
        kotas = near if kotas is None else tuple(k for k in near if k in kotas)
    if kotas is None:
        return c
    out = c.restricted(sql.SQL("t.kota = ANY ({}::text[])").format(sql.Literal(list(kotas))))
    return dataclasses.replace(out, kotas=kotas)


async def items(conn: AsyncConnection[Any], c: CompiledItems) -> Page:
    """One page of features (JSON text built in PostgreSQL) with the exact number matched."""
    c = await routed(conn, c)
    # the data stamp: the newest figure refresh of the kab/kota read, one index probe each (migration 0032)
    stamp = sql.SQL("(SELECT max(updated_at) FROM area_stats)") if not c.kotas else sql.SQL("GREATEST({})").format(
        sql.SQL(", ").join(sql.SQL("(SELECT max(updated_at) FROM area_stats WHERE kota_code = {})").format(
            sql.Literal(k)) for k in c.kotas))  # fmt: skip
    query = sql.SQL(
        "WITH page AS ({body} LIMIT {limit} OFFSET {offset})"
        " SELECT (SELECT count(*) FROM ({src}) t WHERE {where}), count(*),"
        " '[' || COALESCE(string_agg(feature, ','), '') || ']',"
        " array_agg(hid::text) FILTER (WHERE {personal}), {stamp} FROM page"
    ).format(
        # the data's own time for areas (when their figures were last refreshed), so that the same data
        # gives the same bytes and a strong ETag holds; the time of reading for household records
        stamp=sql.SQL("now()") if c.collection.personal else stamp,
        body=feature_sql(c), limit=sql.Literal(c.q.limit), offset=sql.Literal(c.q.offset), src=c.source,
        where=c.where, personal=sql.Literal(c.collection.personal),
    )  # fmt: skip
    try:
        cur = await conn.execute(query)
    except psycopg.DataError as exc:  # e.g. a filter's arithmetic overflows
        raise InputError(f"filter could not be evaluated: {exc.diag.message_primary}") from exc
    row = await cur.fetchone()
    assert row is not None
    return Page(matched=row[0], returned=row[1], features=row[2], ids=row[3] or [], stamp=row[4], kotas=c.kotas)


def schema(collection: Collection, principal: Principal | None = None, *, base: str = "") -> dict[str, Any]:
    """JSON Schema of the queryables (also served as the collection's `describedby` schema)."""
    types = {
        "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
        "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
        "geometry": {"$ref": "https://geojson.org/schema/" + collection.geometry_type + ".json",
                     "x-ogc-role": "primary-geometry"},
    }  # fmt: skip
    props = {
        name: {"title": q.description or name, **types[q.type]}
        for name, q in queryables_for(collection, principal).items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/ogc/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "properties": props,
        "additionalProperties": False,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
