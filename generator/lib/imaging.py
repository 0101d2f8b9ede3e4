"""Validate images: a downloaded result (and derive the gallery's WebP thumbnails and preview),
or an uploaded source (re-encoded before it is kept). The one map of accepted formats to file
extensions and content types, for storing and for serving."""

import hashlib
import io
import uuid
from dataclasses import dataclass

from PIL import Image, ImageOps

# format -> (extension it is stored under, content type it is served with)
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
# Older files may carry these spellings; each still names one of FORMATS.
_EXTENSION_ALIASES = {"jpeg": "JPEG"}
ALLOWED_FORMATS = set(FORMATS)
# Akool's largest output (a 4K upscale) is far below this; anything larger is not an image we
# asked for and could be a decompression bomb.
MAX_PIXELS = 64_000_000
THUMB_SIZE = 400
# The thumbnail for high-density screens (srcset 2x).
THUMB_2X_SIZE = 2 * THUMB_SIZE
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
    # None when the image is no larger than the 1x thumbnail (a 2x would be the same picture).
    thumbnail_2x: bytes | None
    preview: bytes
    placeholder_color: str

    @property
    def facts(self):
        """What a stored image's row records about it (the files themselves aside)."""
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "sha256": self.sha256,
            "thumb_width": self.thumb_width,
            "thumb_height": self.thumb_height,
            "placeholder_color": self.placeholder_color,
        }


def sha256_of(fileobj, chunk=1 << 20):
    fileobj.seek(0)
    digest = hashlib.sha256()
    while block := fileobj.read(chunk):
        digest.update(block)
    fileobj.seek(0)
    return digest.hexdigest()


def _fit(size, long_side):
    """`size` scaled down (never up) so its longer side is at most `long_side`."""
    width, height = size
    if max(width, height) <= long_side:
        return width, height
    ratio = long_side / max(width, height)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _webp(image, long_side, method):
    """A WebP of `image` fitted into `long_side`.

    reducing_gap lets Pillow first shrink by a whole factor with a cheap box filter and only
    then resample precisely, so a 4K source costs about what a 1080p one does. BICUBIC (with
    Pillow's antialiasing for downscales) looks the same as LANCZOS at these sizes and is a
    third faster; WebP method 2 encodes twice as fast as 4 for files ~5% larger, which matters
    for previews (1440 px, opened one at a time), not for thumbnails (a page shows dozens, so
    they keep the slower, smaller method).
    """
    size = _fit(image.size, long_side)
    small = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=method)
    return out.getvalue(), small


def derive(fileobj) -> Derived:
    """Check the file is a real, sane image and make its smaller renditions.

    Reads the header first so a bomb is refused before any pixel is decoded; decoding then
    happens once, and both renditions are resized straight from the decoded image (no copy of
    the full frame), so peak memory stays near one decoded frame.
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
        try:
            image.load()
        except Exception as exc:  # a valid header over a truncated or corrupt body
            raise InvalidImage("The result is not a readable image.") from exc
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        preview, previewed = _webp(image, PREVIEW_SIZE, method=2)
        thumbnail, thumb = _webp(image, THUMB_SIZE, method=4)
    # From the preview, already decoded and small: a fraction of the cost of the full frame.
    thumbnail_2x = None
    if max(width, height) > THUMB_SIZE:
        thumbnail_2x, _ = _webp(previewed, THUMB_2X_SIZE, method=4)
    r, g, b = thumb.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return Derived(
        width=width,
        height=height,
        format=fmt,
        sha256=digest,
        thumbnail=thumbnail,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        thumbnail_2x=thumbnail_2x,
        preview=preview,
        placeholder_color=f"#{r:02x}{g:02x}{b:02x}",
    )


def extension(fmt):
    """The file extension (no dot) a stored image of format `fmt` gets."""
    return FORMATS[fmt][0]


def content_type(fmt):
    """The content type an image of format `fmt` is served with."""
    return FORMATS[fmt][1]


def format_of_name(name):
    """The format a stored file's extension names, or None for anything else."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    for fmt, (known, _) in FORMATS.items():
        if ext == known:
            return fmt
    return _EXTENSION_ALIASES.get(ext)


@dataclass
class Reencoded:
    name: str
    data: bytes
    format: str
    width: int
    height: int


def reencode(fileobj, formats, max_pixels) -> Reencoded:
    """A clean copy of an uploaded image: decoded and encoded again in its own format, so no
    metadata, text chunk or trailing bytes of the upload survive (a PNG can carry HTML, a JPEG
    a script), under a generated name with that format's extension.

    Raises InvalidImage with a sentence fit for the person who uploaded it. The header is
    checked before any pixel is decoded, so a small file claiming a huge size costs nothing.
    """
    try:
        with Image.open(fileobj) as probe:
            fmt, (width, height) = probe.format, probe.size
    except Image.DecompressionBombError:
        raise InvalidImage("The image has too many pixels.") from None
    except Exception as exc:  # Pillow raises many types for garbage input
        raise InvalidImage("This file is not a readable image.") from exc
    if fmt not in formats:
        accepted = " or ".join(sorted(extension(f).upper() for f in formats))
        raise InvalidImage(f"{fmt} images are not accepted; upload a {accepted}.")
    if width * height > max_pixels:
        raise InvalidImage(f"The image is {width}×{height} pixels; it is too large.")
    fileobj.seek(0)
    try:
        with Image.open(fileobj) as image:
            image.load()
            # The pixels as the person saw them: EXIF rotation applied before EXIF is dropped.
            image = ImageOps.exif_transpose(image)
            image = _plain_mode(image, fmt)
            out = io.BytesIO()
            if fmt == "JPEG":
                image.save(out, "JPEG", quality=95)
            else:
                image.save(out, fmt)
    except Image.DecompressionBombError:
        raise InvalidImage("The image has too many pixels.") from None
    except Exception as exc:  # a valid header over a truncated or corrupt body
        raise InvalidImage("This file is not a readable image.") from exc
    return Reencoded(
        name=f"{uuid.uuid4().hex}.{extension(fmt)}",
        data=out.getvalue(),
        format=fmt,
        width=image.width,
        height=image.height,
    )


def _plain_mode(image, fmt):
    """RGB, or RGBA where the format keeps transparency and the image has some."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    mode = "RGBA" if has_alpha and fmt != "JPEG" else "RGB"
    return image if image.mode == mode else image.convert(mode)
