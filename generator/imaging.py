"""Validate a downloaded result and derive the gallery's WebP thumbnail and preview."""

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}
# Akool's largest output (a 4K upscale) is far below this; anything larger is not an image we
# asked for and could be a decompression bomb.
MAX_PIXELS = 64_000_000
THUMB_SIZE = 400
PREVIEW_SIZE = 1440


class InvalidImage(ValueError):
    pass


@dataclass
class Derived:
    width: int
    height: int
    format: str
    sha256: str
    thumbnail: bytes
    thumb_width: int
    thumb_height: int
    preview: bytes
    placeholder_color: str


def sha256_of(fileobj, chunk=1 << 20):
    fileobj.seek(0)
    digest = hashlib.sha256()
    while block := fileobj.read(chunk):
        digest.update(block)
    fileobj.seek(0)
    return digest.hexdigest()


def _webp(image, long_side):
    copy = image.copy() if max(image.size) > long_side else image
    copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "WEBP", quality=80, method=4)
    return out.getvalue(), copy.size


def derive(fileobj) -> Derived:
    """Check the file is a real, sane image and make its smaller renditions.

    Reads the header first so a bomb is refused before any pixel is decoded; decoding then
    happens once, and the preview is reduced from the full image by an integer factor
    (cheap, memory-light) before the precise resize.
    """
    digest = sha256_of(fileobj)
    try:
        with Image.open(fileobj) as probe:
            fmt, (width, height) = probe.format, probe.size
    except Exception as exc:  # Pillow raises many types for garbage input
        raise InvalidImage("The result is not a readable image.") from exc
    if fmt not in ALLOWED_FORMATS:
        raise InvalidImage(f"The result is a {fmt} file; only PNG, JPEG and WebP are accepted.")
    if width * height > MAX_PIXELS:
        raise InvalidImage(f"The result is {width}×{height} pixels, larger than allowed.")
    fileobj.seek(0)
    with Image.open(fileobj) as image:
        image.load()
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        factor = max(1, max(width, height) // (PREVIEW_SIZE * 2))
        working = image.reduce(factor) if factor > 1 else image
        preview, _ = _webp(working, PREVIEW_SIZE)
        thumbnail, (thumb_w, thumb_h) = _webp(working, THUMB_SIZE)
        r, g, b = working.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return Derived(
        width=width,
        height=height,
        format=fmt,
        sha256=digest,
        thumbnail=thumbnail,
        thumb_width=thumb_w,
        thumb_height=thumb_h,
        preview=preview,
        placeholder_color=f"#{r:02x}{g:02x}{b:02x}",
    )
