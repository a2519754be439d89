"""Photos of a visit: type and size checked, stored, and read by those who may read the visit."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from core.errors import Conflict, InputError, NotFound
from core.principal import Staff
from core.scope import may_read_visit
from db.acting import acting_as
from verval.approval import PENDING

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5


def _image_type(data: bytes, max_pixels: int) -> str:
    """The content type of a JPEG, PNG or WebP image, checked by reading its header (never decoding its
    pixels: a few KB can declare gigapixels); InputError otherwise, or when it declares over `max_pixels`."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # the header only
                _check_pixels(img.size, max_pixels)
                if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
                    _check_pixels(img.size, Image.MAX_IMAGE_PIXELS or 0)  # Pillow's own bound
                img.verify()
                kind = img.format or ""
    except Image.DecompressionBombError as exc:  # over twice Pillow's bound: it says so before the size is known
        raise InputError(f"the photo declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels; at most "
                         f"{max_pixels:,} pixels (PETA_PHOTO_MAX_PIXELS)") from exc  # fmt: skip
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the photo is not a readable image: {exc}") from exc
    if kind not in PHOTO_TYPES:
        raise InputError(f"photos are JPEG, PNG or WebP, not {kind or 'unknown'}")
    return PHOTO_TYPES[kind]


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise InputError(f"the photo declares {width:,} x {height:,} pixels ({width * height:,}); at most "
                         f"{max_pixels:,} pixels (PETA_PHOTO_MAX_PIXELS)")  # fmt: skip


async def add_photo(
    conn: AsyncConnection[Any], verification_id: int, data: bytes, principal: Staff, *, max_pixels: int
) -> dict[str, Any]:
    """Attach a photo of the house to one's own visit while it awaits a decision; the same photo twice is one.

    A photo declaring more than `max_pixels` pixels is refused before it is decoded."""
    import hashlib

    if not data:
        raise InputError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise InputError(f"the photo has {len(data):,} bytes; at most {MAX_PHOTO_BYTES:,}")
    cur = await conn.execute(
        "SELECT v.status, u.username, (SELECT count(*) FROM verification_photo p"
        " WHERE p.kota_code = v.kota_code AND p.verification_id = v.id), v.kota_code"
        " FROM verification v JOIN app_user u ON u.id = v.verifier_id WHERE v.id = %s",
        (verification_id,),
    )
    row = await cur.fetchone()
    if row is None or row[1] != principal.username:
        raise NotFound(f"no visit {verification_id} of yours")
    if row[0] not in PENDING:  # a checked visit still awaits its decision: the phone's queued photos still come in
        raise Conflict(f"visit {verification_id} is already {row[0]}: photos can no longer be added")
    kind = _image_type(data, max_pixels)
    digest = hashlib.sha256(data).hexdigest()
    async with conn.transaction():
        await acting_as(conn, principal.actor)
        cur = await conn.execute(
            """INSERT INTO verification_photo (verification_id, sha256, content_type, size_bytes, data, uploaded_by,
                                               kota_code)
               SELECT %s, %s, %s, %s, %s, %s, %s
               WHERE (SELECT count(*) FROM verification_photo WHERE kota_code = %s AND verification_id = %s) < %s
               ON CONFLICT DO NOTHING RETURNING sha256""",
            (verification_id, digest, kind, len(data), data, principal.actor, row[3], row[3], verification_id,
             MAX_PHOTOS),
        )  # fmt: skip
        created = await cur.fetchone() is not None
    if not created:
        cur = await conn.execute(
            "SELECT 1 FROM verification_photo WHERE verification_id = %s AND sha256 = %s", (verification_id, digest)
        )
        if await cur.fetchone() is None:
            raise Conflict(f"visit {verification_id} already has {MAX_PHOTOS} photos")
    return {"verification_id": verification_id, "sha256": digest, "content_type": kind, "size_bytes": len(data),
            "created": created}  # fmt: skip


async def photo(
    conn: AsyncConnection[Any], verification_id: int, sha256: str, principal: Staff
) -> tuple[bytes, str]:
    """A photo's bytes and type, for its verifier, and staff in the family's area."""
    cur = await conn.execute(
        """SELECT p.data, p.content_type, u.username, h.rt_code FROM verification_photo p
           JOIN verification v ON v.kota_code = p.kota_code AND v.id = p.verification_id
           JOIN app_user u ON u.id = v.verifier_id
           JOIN household h ON h.kota_code = v.kota_code AND h.id = v.household_id
           WHERE p.verification_id = %s AND p.sha256 = %s""",
        (verification_id, sha256),
    )
    row = await cur.fetchone()
    if row is None or not may_read_visit(principal, row[2], row[3]):
        raise NotFound(f"no photo {sha256} of visit {verification_id}")
    return bytes(row[0]), str(row[1])
