"""Small boundary layers written to real files (GeoJSON, zipped Shapefile, GeoPackage, KML) for the tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from shapely.geometry import Polygon, box

# A 2 km x 2 km "city" near the centre of Kota Jambi, in lon/lat.
W, S, E, N = 103.60, -1.62, 103.618, -1.602
MID_X = (W + E) / 2
MID_Y = (S + N) / 2

KOTA = [("15.71", "Kota Uji", box(W, S, E, N))]
KECAMATAN = [
    ("15.71.01", "Kecamatan Barat", box(W, S, MID_X, N)),
    ("15.71.02", "Kecamatan Timur", box(MID_X, S, E, N)),
]
KELURAHAN = [
    ("15.71.01.1001", "Kel Barat Daya", box(W, S, MID_X, MID_Y)),
    ("15.71.01.1002", "Kel Barat Laut", box(W, MID_Y, MID_X, N)),
    ("15.71.02.1001", "Kel Timur Daya", box(MID_X, S, E, MID_Y)),
    ("15.71.02.1002", "Kel Timur Laut", box(MID_X, MID_Y, E, N)),
]
BOWTIE = Polygon([(W, S), (MID_X, MID_Y), (W, MID_Y), (MID_X, S), (W, S)])


def write_layer(
    path: Path,
    rows: list[tuple[str, str, shapely.Geometry]],
    *,
    driver: str | None = None,
    crs: str | None = "EPSG:4326",
    extra: dict[str, list[object]] | None = None,
) -> Path:
    """Write (code, name, geometry) rows to `path` with pyogrio; a .zip path gets a zipped Shapefile."""
    fields = {
        "kode": np.array([r[0] for r in rows], dtype=object),
        "nama": np.array([r[1] for r in rows], dtype=object),
    }
    for key, values in (extra or {}).items():
        fields[key] = np.array(values, dtype=object)
    geoms = np.array([shapely.to_wkb(r[2]) for r in rows], dtype=object)
    gtype = "Unknown" if len({r[2].geom_type for r in rows}) > 1 else rows[0][2].geom_type
    if path.suffix == ".zip":
        shp_dir = path.parent / (path.stem + "_shp")
        shp_dir.mkdir(exist_ok=True)
        shp = shp_dir / (path.stem + ".shp")
        pyogrio.raw.write(
            shp,
            geoms,
            list(fields.values()),
            list(fields.keys()),
            driver="ESRI Shapefile",
            geometry_type=gtype,
            crs=crs,
        )
        with zipfile.ZipFile(path, "w") as z:
            for part in sorted(shp_dir.iterdir()):
                z.write(part, part.name)
        return path
    pyogrio.raw.write(
        path, geoms, list(fields.values()), list(fields.keys()), driver=driver, geometry_type=gtype, crs=crs
    )
    return path


def load_sample_city(conn: object, tmp_path: Path, *, population_step: int | None = None) -> None:
    """Import KOTA, KECAMATAN and KELURAHAN through real GeoJSON files; populations step, 2*step, … if given."""
    from boundaries.importer import import_boundaries

    for rows, level in ((KOTA, "kota"), (KECAMATAN, "kecamatan"), (KELURAHAN, "kelurahan")):
        extra = {"penduduk": [population_step * (i + 1) for i in range(len(rows))]} if population_step else None
        import_boundaries(conn, write_layer(tmp_path / f"{level}.geojson", rows, extra=extra), level)  # type: ignore[arg-type]


def append_kecamatan_layer(gpkg: Path) -> None:
    """A second layer, "kecamatan" (KECAMATAN, codes only), added to a GeoPackage: a file needing --layer."""
    pyogrio.raw.write(
        gpkg,
        np.array([shapely.to_wkb(g) for _, _, g in KECAMATAN], dtype=object),
        [np.array([c for c, _, _ in KECAMATAN], dtype=object)],
        ["kode"],
        layer="kecamatan",
        driver="GPKG",
        geometry_type="Polygon",
        crs="EPSG:4326",
        append=True,
    )
