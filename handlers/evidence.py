"""Screenshots a reporter attaches: checked before download by what the platform says of them, then
re-encoded from their pixels alone, so nothing of a photo's metadata (EXIF can carry a phone's model, the
time and the place it was taken) is kept. Platform-neutral: the bytes come from `IncomingFile.fetch`."""

from __future__ import annotations

import asyncio
import io
import logging

from handlers import report_texts as texts
from handlers.messages import IncomingFile

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FETCH_TIMEOUT_S = 30
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp", "image/heic", "image/bmp"})
# Re-encoded as PNG (lossless, and it carries no EXIF unless asked to).
STORED_TYPE = "image/png"


class EvidenceRejected(ValueError):
    """Why a file is not kept, in words for the reporter."""


def refusal(file: IncomingFile) -> str | None:
    """Why `file` will not be attached, judged from what the platform says of it; None when it may be."""
    if not file.mimetype.lower().startswith("image/"):
        return texts.EVIDENCE_NOT_IMAGE
    if file.size > MAX_BYTES:
        return texts.EVIDENCE_TOO_BIG.format(limit_mb=MAX_BYTES // (1024 * 1024))
    return None


def strip_metadata(data: bytes) -> bytes:
    """The picture's pixels as a fresh PNG, with no metadata. Raises EvidenceRejected for anything that is
    not a readable image."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_BYTES:
        raise EvidenceRejected(texts.EVIDENCE_TOO_BIG.format(limit_mb=MAX_BYTES // (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise EvidenceRejected(texts.EVIDENCE_TOO_BIG.format(limit_mb=MAX_BYTES // (1024 * 1024)))
            image.load()
            mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
            pixels = image.convert(mode)
            # A new image from the pixels alone: no EXIF, XMP, ICC profile, comments or text chunks.
            clean = Image.new(mode, pixels.size)
            clean.paste(pixels)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise EvidenceRejected(texts.EVIDENCE_NOT_IMAGE) from None
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=False)
    return out.getvalue()


async def fetch_clean(file: IncomingFile) -> bytes:
    """Download and strip; raises EvidenceRejected (or the download's error)."""
    data = await asyncio.wait_for(file.fetch(), FETCH_TIMEOUT_S)
    return await asyncio.to_thread(strip_metadata, data)
