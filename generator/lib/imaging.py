"""Validate images: a downloaded result (and derive the gallery's WebP thumbnails, and its
preview on first view), or an uploaded source (re-encoded before it is kept). The one map of
accepted formats to file extensions and content types, for storing and for serving."""

import hashlib
import io
import uuid
from dataclasses import dataclass

import pyvips
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
# The thumbnail for high-density screens: 1.5x the 1x's size at a lower WebP quality. On a
# dense screen the extra pixels hide the stronger compression, and a gallery page served in it
# weighs about what the 1x page does instead of four times as much (tests/benchmarks/pageweight.py
# --scale 2). The card's srcset names it by this density.
THUMB_DENSE_SIZE = 3 * THUMB_SIZE // 2
DENSE_WEBP_QUALITY = 50
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


# libvips keeps recently used operations (and the images they hold) for reuse; a worker stores
# each image once, so the cache would only hold decoded frames in memory.
pyvips.cache_set_max(0)
# WebP effort 1 encodes 2-5x faster than 4 for files within a few percent of its size on
# photo-like pictures (and no larger than effort 2's on smooth ones).
WEBP_EFFORT = 1
WEBP_QUALITY = 80


def _webp(image, quality=WEBP_QUALITY):
    return image.webpsave_buffer(Q=quality, effort=WEBP_EFFORT, strip=True)


def _source(fileobj):
    """A libvips source reading `fileobj` from where it stands: its descriptor when it has one
    (a temporary file: no copy through Python), else through Python reads."""
    try:
        return pyvips.Source.new_from_descriptor(fileobj.fileno())
    except (AttributeError, io.UnsupportedOperation):
        source = pyvips.SourceCustom()
        source.on_read(fileobj.read)
        source.on_seek(fileobj.seek)
        return source


def _rewind(fileobj):
    """Put `fileobj` and the descriptor under it back at the start. libvips reads the
    descriptor directly, behind Python's buffer; a plain seek(0) that lands inside that buffer
    moves neither, so the caller would then copy the buffer and stop at the end of the file."""
    fileobj.seek(0, io.SEEK_END)  # always reaches the descriptor and empties the buffer
    fileobj.seek(0)


def _resized(image, size):
    """`image` resized to exactly `size` (libvips' thumbnail can round a side the other way)."""
    if (image.width, image.height) == size:
        return image
    return image.resize(size[0] / image.width, vscale=size[1] / image.height).copy_memory()


def derive(fileobj) -> Derived:
    """Check the file is a real, sane image and make the gallery's thumbnails.

    Pillow reads the header first, so a bomb or a format we do not accept is refused before any
    pixel is decoded. libvips then decodes the file once, sequentially, straight into the
    dense-screen thumbnail (shrink-on-load where the format has it; otherwise a strip at a
    time, so peak memory stays far below one decoded frame); the 1x thumbnail is made from
    that. The large preview is not made here but on first view (`preview_of`): most stored
    images are seen only as thumbnails. Measured against the alternatives: see
    tests/benchmarks/store.py.
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
    try:
        larger = _decoded(fileobj, (width, height), THUMB_DENSE_SIZE)
    except pyvips.Error as exc:
        raise InvalidImage("The result is not a readable image.") from exc
    thumbnail_2x = None
    if max(width, height) > THUMB_SIZE:
        thumbnail_2x = _webp(larger, DENSE_WEBP_QUALITY)
    thumb = _resized(larger, _fit((width, height), THUMB_SIZE))
    r, g, b = (round(thumb[band].avg()) for band in range(3))
    return Derived(
        width=width,
        height=height,
        format=fmt,
        sha256=digest,
        thumbnail=_webp(thumb),
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        thumbnail_2x=thumbnail_2x,
        placeholder_color=f"#{r:02x}{g:02x}{b:02x}",
    )


def preview_of(fileobj, size):
    """The large preview (WebP) of a stored original of `size` (width, height) that `derive`
    accepted. Raises pyvips.Error if the file no longer decodes."""
    return _webp(_decoded(fileobj, size, PREVIEW_SIZE))


def _decoded(fileobj, size, long_side):
    """`fileobj`'s pixels in sRGB, fitted to `long_side`, decoded once and sequentially; the
    file is left at its start."""
    _rewind(fileobj)
    # Held until the pixels are copied out: libvips reads through it lazily.
    source = _source(fileobj)
    try:
        # fail_on: a truncated or corrupt body is an error, not a half-grey picture.
        # no_rotate: the renditions keep the stored pixels' orientation, as width and height do.
        image = pyvips.Image.thumbnail_source(
            source,
            long_side,
            height=long_side,
            size="down",
            no_rotate=True,
            option_string="fail_on=warning",
        )
        if image.interpretation != "srgb":  # greyscale, 16-bit, CMYK
            image = image.colourspace("srgb")
        return _resized(image.copy_memory(), _fit(size, long_side))
    finally:
        _rewind(fileobj)


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
