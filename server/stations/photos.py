"""A station's photo: what staff upload is decoded and re-encoded with Pillow, so what riders
download is always a plain, small JPEG: no EXIF (a phone's photo carries where it was taken and
by which phone), no script in an SVG, no decompression bomb, no polyglot file. The stored photo
has a digest that is part of its address, so it can be cached for good."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from server.stations.models import StationPhoto

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
MAX_SOURCE_PIXELS = 40_000_000  # a 40-megapixel phone camera; past that, refused unread
MAX_SIDE = 1280  # what a phone screen shows at most
MIN_SIDE = 64
JPEG_QUALITY = 80
CONTENT_TYPE = "image/jpeg"


class PhotoError(ValueError):
    """The upload is not a photo we take: the message says why (shown to staff)."""


@dataclass(frozen=True, slots=True)
class Photo:
    data: bytes
    width: int
    height: int
    digest: str


def reencode(raw: bytes) -> Photo:
    """A JPEG of at most ``MAX_SIDE`` pixels a side from a JPEG, PNG or WebP upload, upright
    (EXIF orientation applied, then dropped). Raises PhotoError naming what is wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(raw))
            if source.format not in ACCEPTED_FORMATS:
                raise PhotoError(f"a photo must be JPEG, PNG or WebP, not {source.format}")
            width, height = source.size
            if width * height > MAX_SOURCE_PIXELS:
                raise PhotoError(f"the photo is too large ({width}x{height} pixels)")
            if min(width, height) < MIN_SIDE:
                raise PhotoError(f"the photo is too small ({width}x{height} pixels)")
            source.load()
            image = ImageOps.exif_transpose(source).convert("RGB")
    except PhotoError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PhotoError("the photo is too large (too many pixels)") from None
    except UnidentifiedImageError:
        raise PhotoError("this file is not an image we can read") from None
    except (OSError, SyntaxError, ValueError):  # Pillow's words for a truncated or broken file
        raise PhotoError("this image is damaged or incomplete") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    data = out.getvalue()
    return Photo(data, image.width, image.height, hashlib.sha256(data).hexdigest()[:16])


def store(session: Session, *, station_id: str, photo: Photo, now: datetime) -> StationPhoto:
    """The station's photo is now this one (in the caller's transaction)."""
    row = session.get(StationPhoto, station_id)
    if row is None:
        row = StationPhoto(
            station_id=station_id,
            digest=photo.digest,
            content_type=CONTENT_TYPE,
            width=photo.width,
            height=photo.height,
            data=photo.data,
            updated_at=now,
        )
    else:
        row.digest, row.width, row.height = photo.digest, photo.width, photo.height
        row.content_type, row.data, row.updated_at = CONTENT_TYPE, photo.data, now
    session.add(row)
    return row


def photo_url(station_id: str, digest: str | None) -> str | None:
    """Where riders fetch it: the digest in the address, so a new photo is a new address."""
    return None if digest is None else f"/api/public/stations/{station_id}/photo/{digest}.jpg"
