"""Table definitions (SQLAlchemy + GeoAlchemy2), the metadata Alembic compares against."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from core.levels import LEVELS

metadata = MetaData()

_LEVEL_CHECK = "level IN (" + ", ".join(f"'{lv}'" for lv in LEVELS) + ")"

area = Table(
    "area",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text),
    Column("geom", Geometry("MULTIPOLYGON", 4326, spatial_index=False), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("population", Integer),
    Column("source", Text, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("geom_hash", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_LEVEL_CHECK, name="area_level_check"),
    CheckConstraint("population IS NULL OR population >= 0", name="area_population_check"),
    CheckConstraint("ST_IsValid(geom)", name="area_geom_valid"),
    Index("area_geom_gist", "geom", postgresql_using="gist"),
    Index("area_level_parent_idx", "level", "parent_code"),
)

area_version = Table(
    "area_version",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("code", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_code", Text),
    Column("geom", Geometry("MULTIPOLYGON", 4326, spatial_index=False), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("population", Integer),
    Column("source", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("code", "version", name="area_version_code_version_key"),
)

_INDICATORS = [Column(f"k{i:02d}", Boolean, nullable=False) for i in range(1, 15)]

household = Table(
    "household",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kk_hash", Text, nullable=False, unique=True),
    Column("kk_masked", Text, nullable=False),
    Column("nik_kepala_hash", Text),
    Column("nik_kepala_masked", Text),
    Column("nama_kepala", Text),
    Column("alamat", Text),
    Column("kode_rt", Text, comment="RT code as recorded in the registry"),
    Column("rt_code", Text, comment="RT the point lies in (placement)"),
    Column("geom", Geometry("POINT", 4326, spatial_index=False)),
    Column("jumlah_anggota", SmallInteger, nullable=False),
    *_INDICATORS,
    Column("programs", ARRAY(Text), nullable=False, server_default="{}"),
    Column("desil_resmi", SmallInteger),
    Column("tgl_verval", Date),
    Column("hasil_verval", SmallInteger),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("jumlah_anggota BETWEEN 1 AND 40", name="household_members_check"),
    CheckConstraint("desil_resmi IS NULL OR desil_resmi BETWEEN 1 AND 10", name="household_desil_check"),
    CheckConstraint("hasil_verval IS NULL OR hasil_verval BETWEEN 1 AND 7", name="household_hasil_check"),
    Index("household_geom_gist", "geom", postgresql_using="gist"),
    Index("household_rt_code_idx", "rt_code"),
)

app_meta = Table(
    "app_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
