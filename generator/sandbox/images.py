"""Fake generated images: real PNGs of the right size, cheap to make and pleasant in a gallery.

A picture is painted on a tiny canvas (a gradient and a few soft blobs), blurred and scaled up,
so even a 5760 px upscale renders in well under a second. Colours come from the prompt, shapes
from the job's seed: a batch shares a palette but not a composition, and a U (upscale) child
reuses its parent's seed so it looks like the same picture, only larger.

Painting and PNG-encoding a 1080p picture costs about what the app's whole store step does, and
real Akool spends that on its own machines. So a text-to-image result is one of a fixed set of
pictures per size (PALETTES x COMPOSITIONS, painted once and kept), and each job's file is that
picture with the job's id in a text chunk: every result is still a distinct file (its own
sha256), and the app's store cost can be measured without the emulator's painting beside it
(`prerender()` paints a size's set ahead of time).
"""

import colorsys
import hashlib
import io
import os
import random
import struct
import threading
import zlib
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

RESOLUTIONS = {"1080p": 1920, "4k": 3840}
# The real API calls U1-U4 "4K" upscales; the sandbox makes them 1.5x the parent's long side.
UPSCALE_FACTOR = 1.5
SCALES = ("1:1", "3:2", "4:3", "16:9", "2:3", "3:4", "9:16")
SMALL_SIDE = 160  # long side of the canvas everything is painted on before scaling up
SOURCE_THUMB = 256
NOISE_MARKER = "[noise]"
# A batch takes consecutive seeds, so its pictures differ while it has at most this many.
COMPOSITIONS = 4
PALETTES = 8

# Striped locks: concurrent first downloads of one job render it once per process, without
# keeping a lock per job forever.
_render_locks = [threading.Lock() for _ in range(32)]


def cache_dir() -> Path:
    """Where PNGs and source thumbnails live; SANDBOX_CACHE_DIR lets tests use a temp folder."""
    folder = getattr(settings, "SANDBOX_CACHE_DIR", None) or Path(settings.DATA_DIR) / "sandbox"
    return Path(folder)


def dimensions(scale, resolution, source_size=None, long_side=None):
    """Pixel size for an aspect ratio ("16:9", or "Original" with the source's size)."""
    long_side = long_side or RESOLUTIONS[resolution]
    if scale == "Original":
        w, h = source_size
    else:
        w, h = (int(part) for part in scale.split(":"))
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


def upscaled(width, height):
    return round(width * UPSCALE_FACTOR), round(height * UPSCALE_FACTOR)


def _palette_of(prompt):
    """Which of the PALETTES a text-to-image prompt is painted with."""
    return hashlib.sha256(prompt.strip().lower().encode()).digest()[0] % PALETTES


def _palette(prompt):
    digest = hashlib.sha256(prompt.strip().lower().encode()).digest()
    base = digest[0] / 255
    colours = []
    for i, offset in enumerate((0.0, 0.18, 0.45, 0.7)):
        hue = (base + offset + digest[i + 1] / 2550) % 1.0
        sat = 0.45 + digest[i + 5] / 255 * 0.4
        val = 0.55 + digest[i + 9] / 255 * 0.4
        colours.append(tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue, sat, val)))
    return colours


def _paint_small(width, height, prompt, seed, source=None, similar=0.5):
    rng = random.Random(seed)
    palette = _palette(prompt)
    sw, sh = dimensions(f"{width}:{height}", None, long_side=SMALL_SIDE)
    top, bottom = palette[0], palette[1]
    gradient = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135)) * 1.0)
    gradient = ImageOps.fit(gradient.crop((48, 48, 208, 208)), (sw, sh))
    canvas = Image.composite(
        Image.new("RGB", (sw, sh), bottom), Image.new("RGB", (sw, sh), top), gradient
    )
    for _ in range(rng.randint(4, 9)):
        r = rng.uniform(0.05, 0.25) * SMALL_SIDE
        x, y = rng.uniform(0, sw), rng.uniform(0, sh)
        colour = rng.choice(palette[2:] + [(255, 255, 255)])
        # Blur the mask only: blurring a transparent RGBA layer would smear black halos.
        mask = Image.new("L", (sw, sh), 0)
        ImageDraw.Draw(mask).ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(90, 200))
        mask = mask.filter(ImageFilter.GaussianBlur(SMALL_SIDE / 40))
        canvas = Image.composite(Image.new("RGB", (sw, sh), colour), canvas, mask)
    if source is not None:
        # Image-to-image: the closer `similar` is to 1, the more of the source shows through.
        fitted = ImageOps.fit(source.convert("RGB"), (sw, sh))
        canvas = Image.blend(canvas, fitted, 0.3 + 0.6 * similar)
    return canvas


def _caption(image, prompt):
    words = [w for w in prompt.split() if not (w.startswith("[") and w.endswith("]"))]
    text = " ".join(words[:5])
    if not text:
        return
    size = max(12, max(image.size) // 40)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(image)
    x, y = size, image.height - size * 2
    draw.text((x + 2, y + 2), text, font=font, fill=(0, 0, 0))
    draw.text((x, y), text, font=font, fill=(255, 255, 255))


def render_png(path, width, height, prompt, seed, source=None, similar=0.5, caption=True):
    """Paint one picture and write it to `path` (atomically, so readers never see half a file)."""
    if NOISE_MARKER in prompt:
        # Incompressible on purpose: a 4k PNG of random pixels weighs 25-45 MB.
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = _paint_small(width, height, prompt, seed, source, similar)
        image = image.resize((width, height), Image.Resampling.BICUBIC)
        if caption:
            _caption(image, prompt)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    _write_atomically(path, out.getvalue())
    return path


def _write_atomically(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _picture(width, height, palette, composition):
    """One of the fixed set of text-to-image pictures of a size, painted on first use."""
    path = cache_dir() / "pictures" / f"{width}x{height}-p{palette}-c{composition}.png"
    if not path.exists():
        # The palette's own name stands in for a prompt; no caption (it would name that).
        render_png(path, width, height, f"palette {palette}", composition, caption=False)
    return path


def prerender(width, height):
    """Paint every picture of a size now (a benchmark does this before its timed part)."""
    for palette in range(PALETTES):
        for composition in range(COMPOSITIONS):
            _picture(width, height, palette, composition)


def _with_text(png, key, value):
    """`png` with a tEXt chunk after its header: same pixels, different bytes."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data))
    end_of_header = 8 + 4 + 4 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    return png[:end_of_header] + chunk + png[end_of_header:]


def png_for(job):
    """The cached PNG of a completed job, made on first request."""
    path = cache_dir() / f"{job.job_id}.png"
    if path.exists():
        return path
    with _render_locks[hash(job.job_id) % len(_render_locks)]:
        if path.exists():
            return path
        if job.source_key or NOISE_MARKER in job.prompt:
            # Image-to-image and noise results are each their own picture.
            render_png(
                path,
                job.width,
                job.height,
                job.prompt,
                job.seed,
                source=load_source(job.source_key),
                similar=job.similar,
            )
        else:
            picture = _picture(
                job.width, job.height, _palette_of(job.prompt), job.seed % COMPOSITIONS
            )
            _write_atomically(path, _with_text(picture.read_bytes(), "Job", job.job_id))
    return path


# --- source images (image-to-image) -----------------------------------------------------------


def inspect_source(data):
    """(width, height, thumbnail) of image bytes; raises ValueError if they are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            size = image.size
            thumb = image.convert("RGB")
            thumb.thumbnail((SOURCE_THUMB, SOURCE_THUMB))
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError("not a readable image") from exc
    return size[0], size[1], thumb


def store_source(thumb):
    """Keep a small copy of a source image; the key is its content hash (so copies dedupe)."""
    buffer = io.BytesIO()
    thumb.save(buffer, format="PNG", compress_level=3)
    data = buffer.getvalue()
    key = hashlib.sha256(data).hexdigest()[:32]
    path = cache_dir() / "sources" / f"{key}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return key


def load_source(key):
    if not key:
        return None
    path = cache_dir() / "sources" / f"{key}.png"
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except OSError:
        return None  # cache wiped: render without it rather than fail the download
