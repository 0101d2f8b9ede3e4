"""Store cost: download + validate + thumbnails (+ preview) + write of one image, per alternative.

    .venv/bin/python tests/benchmarks/store.py [--repeats 5]

1. Three PNGs are made once: a 1920x1080 sandbox picture (what the pipeline benchmark stores),
   a 3840x2160 sandbox picture and a 3840x2160 photo-like picture (texture at two scales, ~14
   MB, as in pageweight.py). A separate process serves them over loopback HTTP, so its CPU is
   not counted here.
2. For each image and each alternative, store_job's work minus the row update runs in this
   process: AkoolClient.download() into a temporary file, the alternative's validate + derive,
   and the written files (original, 1x and 2x thumbnails, and the preview where the
   alternative makes it) in a FileSystemStorage.
   CPU time (time.process_time: every thread of the process, libvips' included) is the best of
   --repeats, because on a shared machine the question is what the work costs, not how long it
   waited for a core. Wall time is printed beside it.
3. Quality: SSIM (luma, 8x8 windows, stride 4, 8 on the preview; computed here in pure
   Python) of each alternative's renditions against a lossless LANCZOS resize of the original,
   and their sizes.

Alternatives: "Pillow, round 1" is derive() as it was before round 2 (BICUBIC from the full
frame, WebP method 2 for the preview and 4 for thumbnails), reproduced here; "Pillow, tuned" is
Pillow with every cheap setting (whole-factor reduce first, BILINEAR preview, thumbnails chained
from the preview, WebP method 1); "pyvips, preview at store (before)" is libvips' thumbnail
(shrink-on-load where the format has it, sequential access) into the preview, the thumbnails
from it, WebP effort 1, reproduced here; "pyvips = derive() now, preview on first view" is
generator.lib.imaging.derive(): the same decode straight into the dense-screen thumbnail, with
the preview made on its first view (measured too: read the stored original, decode, resize,
encode, write; generator.previews).
"""

import argparse
import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import figure, free_port, report, setup_django, wait_http  # noqa: E402

TARGET_MS = {"1080p": 25, "4K": 120}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", help="also write the result to this file (used by run.py)")
    return p.parse_args(list(argv))


# --- the alternatives: each takes the downloaded file and returns {rendition: bytes} -------


def round1(fileobj):
    """derive() before this round, for reference: BICUBIC from the full frame (reducing_gap 2),
    WebP method 2 for the preview, 4 for the thumbnails, a 2x thumbnail (twice the 1x, quality
    80) from the preview."""
    from PIL import Image

    from generator.lib.imaging import PREVIEW_SIZE, THUMB_SIZE, _fit, sha256_of

    def webp(image, long_side, method):
        small = image.resize(
            _fit(image.size, long_side), Image.Resampling.BICUBIC, reducing_gap=2.0
        )
        out = io.BytesIO()
        small.save(out, "WEBP", quality=80, method=method)
        return out.getvalue(), small

    sha256_of(fileobj)
    with Image.open(fileobj) as probe:
        probe.size  # noqa: B018 - the header check
    fileobj.seek(0)
    with Image.open(fileobj) as image:
        image.load()
        image = image if image.mode in ("RGB", "RGBA") else image.convert("RGB")
        preview, previewed = webp(image, PREVIEW_SIZE, 2)
        thumb, _ = webp(image, THUMB_SIZE, 4)
    thumb_2x, _ = webp(previewed, 2 * THUMB_SIZE, 4)
    return {"thumbnail": thumb, "thumbnail_2x": thumb_2x, "preview": preview}


def pillow_tuned(fileobj):
    """Pillow with every cheap setting: a whole-factor reduce before resampling (reducing_gap
    1), BILINEAR for the preview, the thumbnails chained from the preview, WebP method 1."""
    from PIL import Image

    from generator.lib.imaging import (
        DENSE_WEBP_QUALITY,
        PREVIEW_SIZE,
        THUMB_DENSE_SIZE,
        THUMB_SIZE,
        WEBP_QUALITY,
        _fit,
        sha256_of,
    )

    def shrink(image, size, resample):
        return image.resize(size, resample, reducing_gap=1.0) if size != image.size else image

    def webp(image, quality=WEBP_QUALITY):
        out = io.BytesIO()
        image.save(out, "WEBP", quality=quality, method=1)
        return out.getvalue()

    sha256_of(fileobj)
    with Image.open(fileobj) as probe:
        size = probe.size
    fileobj.seek(0)
    with Image.open(fileobj) as image:
        image.load()
        image = image if image.mode in ("RGB", "RGBA") else image.convert("RGB")
        previewed = shrink(image, _fit(size, PREVIEW_SIZE), Image.Resampling.BILINEAR)
    larger = shrink(previewed, _fit(size, THUMB_DENSE_SIZE), Image.Resampling.BICUBIC)
    thumb = shrink(larger, _fit(size, THUMB_SIZE), Image.Resampling.BICUBIC)
    return {
        "thumbnail": webp(thumb),
        "thumbnail_2x": webp(larger, DENSE_WEBP_QUALITY),
        "preview": webp(previewed),
    }


def eager(fileobj):
    """derive() as it was while the store step also made the preview: libvips decodes into the
    preview, and both thumbnails are made from it."""
    from PIL import Image

    from generator.lib.imaging import (
        DENSE_WEBP_QUALITY,
        PREVIEW_SIZE,
        THUMB_DENSE_SIZE,
        THUMB_SIZE,
        _decoded,
        _fit,
        _resized,
        _webp,
        sha256_of,
    )

    sha256_of(fileobj)
    with Image.open(fileobj) as probe:
        size = probe.size
    previewed = _decoded(fileobj, size, PREVIEW_SIZE)
    larger = _resized(previewed, _fit(size, THUMB_DENSE_SIZE))
    thumb = _resized(larger, _fit(size, THUMB_SIZE))
    return {
        "thumbnail": _webp(thumb),
        "thumbnail_2x": _webp(larger, DENSE_WEBP_QUALITY),
        "preview": _webp(previewed),
    }


def current(fileobj):
    from generator.lib.imaging import derive

    d = derive(fileobj)
    return {"thumbnail": d.thumbnail, "thumbnail_2x": d.thumbnail_2x}


def first_view_preview(storage, name):
    """What the first view of the preview does (generator.previews): read the stored original,
    decode it into the preview, encode, write. Returns the preview."""
    from django.core.files.base import ContentFile
    from PIL import Image

    from generator.lib.imaging import preview_of

    with storage.open(name) as fh:
        with Image.open(fh) as probe:
            size = probe.size
        data = preview_of(fh, size)
    storage.save(f"{name}.preview.webp", ContentFile(data))
    return data


ALTERNATIVES = {
    "Pillow, round 1 (before)": round1,
    "Pillow, tuned": pillow_tuned,
    "pyvips, preview at store (before)": eager,
    "pyvips = derive() now, preview on first view": current,
}


# --- measuring ----------------------------------------------------------------------------


def store_once(url, derive_fn, storage, client, max_bytes):
    from django.core.files.base import ContentFile, File

    with tempfile.TemporaryFile() as tmp:
        client.download(url, tmp, max_bytes=max_bytes, deadline=60)
        files = derive_fn(tmp)
        tmp.seek(0)
        original = storage.save("original.png", File(tmp))
        for kind, data in files.items():
            storage.save(f"{kind}.webp", ContentFile(data))
    return files, original


def best_of(fn, repeats):
    cpu, wall, result = [], [], None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), result


def luma(data, size=None):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("L")
        if size and image.size != size:
            image = image.resize(size, Image.Resampling.BICUBIC)
        return image.size, list(image.get_flattened_data())


def ssim(a, b, win=8, step=4):
    """Mean SSIM of two equally sized luma images over win x win windows (pure Python)."""
    (w, h), pa = a
    _, pb = b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    n = win * win
    total = count = 0
    for y in range(0, h - win + 1, step):
        for x in range(0, w - win + 1, step):
            xs = [pa[(y + j) * w + x + i] for j in range(win) for i in range(win)]
            ys = [pb[(y + j) * w + x + i] for j in range(win) for i in range(win)]
            mx, my = sum(xs) / n, sum(ys) / n
            vx = sum((v - mx) ** 2 for v in xs) / n
            vy = sum((v - my) ** 2 for v in ys) / n
            cov = sum((p - mx) * (q - my) for p, q in zip(xs, ys, strict=True)) / n
            total += ((2 * mx * my + c1) * (2 * cov + c2)) / (
                (mx * mx + my * my + c1) * (vx + vy + c2)
            )
            count += 1
    return total / count


def make_images(folder):
    from generator.sandbox.images import render_png

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pageweight import photo_like

    images = {
        ("1080p", "sandbox picture"): folder / "sandbox-1080p.png",
        ("4K", "sandbox picture"): folder / "sandbox-4k.png",
        ("4K", "photo-like"): folder / "photo-4k.png",
    }
    render_png(images["1080p", "sandbox picture"], 1920, 1080, "harbour at dawn 1", 11)
    render_png(images["4K", "sandbox picture"], 3840, 2160, "harbour at dawn 2", 12)
    photo_like(images["4K", "photo-like"], 3)
    return images


def run(argv=()):
    opts = parse(argv)
    setup_django()
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    from django.core.files.storage import FileSystemStorage

    from generator.akool.client import AkoolClient
    from generator.tasks import DOWNLOAD_MAX_BYTES

    figures, notes = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = make_images(folder)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/")
            client = AkoolClient("http://127.0.0.1", "bench")
            for (res, kind), path in images.items():
                url = f"http://127.0.0.1:{port}/{path.name}"
                outputs = {}
                for name, fn in ALTERNATIVES.items():
                    media = FileSystemStorage(location=tempfile.mkdtemp(dir=tmp))

                    def once(fn=fn, media=media):
                        return store_once(url, fn, media, client, DOWNLOAD_MAX_BYTES)

                    once()  # warm-up: imports, first connection
                    cpu, wall, (files, original) = best_of(once, opts.repeats)
                    outputs[name] = files
                    note = f"wall {wall * 1000:.0f} ms; " + ", ".join(
                        f"{k} {len(v) / 1000:.1f} kB" for k, v in files.items()
                    )
                    if name.endswith("on first view"):
                        fv_cpu, fv_wall, preview = best_of(
                            lambda media=media, original=original: first_view_preview(
                                media, original
                            ),
                            opts.repeats,
                        )
                        files["preview"] = preview  # for the quality figures
                        note += (
                            f"; the first view then makes the preview: {fv_cpu * 1000:.0f} ms "
                            f"CPU, {fv_wall * 1000:.0f} ms wall"
                        )
                    figures.append(
                        figure(
                            f"{res} {kind}: {name}",
                            round(cpu * 1000, 1),
                            "ms CPU",
                            target=f"<= {TARGET_MS[res]}",
                            note=note,
                        )
                    )
                decode = decode_cost(path, opts.repeats)
                figures.append(
                    figure(
                        f"{res} {kind}: decode alone (Pillow / libvips)",
                        f"{decode[0]:.1f} / {decode[1]:.1f}",
                        "ms CPU",
                        note=f"{path.stat().st_size / 1e6:.1f} MB PNG; every alternative "
                        "decodes the whole frame once (PNG has no shrink-on-load)",
                    )
                )
                figures.extend(quality(f"{res} {kind}", path, outputs))
                steps = derive_steps(path, opts.repeats)
                figures.append(
                    figure(
                        f"{res} {kind}: derive() now, step by step",
                        " / ".join(f"{v:.1f}" for v in steps.values()),
                        "ms CPU",
                        note=" / ".join(steps),
                    )
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    load_after = os.getloadavg()
    notes.append(
        f"load average before {fmt_load(load_before)}, after {fmt_load(load_after)} "
        f"({os.cpu_count()} cores)"
    )
    return {
        "name": "store",
        "params": {"repeats": opts.repeats},
        "figures": figures,
        "notes": notes,
    }


def decode_cost(path, repeats):
    import pyvips
    from PIL import Image

    def pil():
        with Image.open(path) as image:
            image.load()

    def libvips():
        pyvips.Image.new_from_file(str(path), access="sequential").copy_memory()

    return best_of(pil, repeats)[0] * 1000, best_of(libvips, repeats)[0] * 1000


def truth(path):
    """The renditions' reference: LANCZOS from the full frame in one pass, kept lossless."""
    from PIL import Image

    from generator.lib.imaging import PREVIEW_SIZE, THUMB_DENSE_SIZE, THUMB_SIZE, _fit

    reference = {}
    with Image.open(path) as image:
        image = image.convert("RGB")
        for kind, long_side in (
            ("thumbnail", THUMB_SIZE),
            ("thumbnail_2x", THUMB_DENSE_SIZE),
            ("preview", PREVIEW_SIZE),
        ):
            out = io.BytesIO()
            image.resize(_fit(image.size, long_side), Image.Resampling.LANCZOS).save(out, "PNG")
            reference[kind] = out.getvalue()
    return reference


def derive_steps(path, repeats):
    """The profile of derive() now, step by step (CPU ms, best of `repeats`): what is left."""
    import pyvips

    from generator.lib.imaging import (
        DENSE_WEBP_QUALITY,
        PREVIEW_SIZE,
        THUMB_DENSE_SIZE,
        THUMB_SIZE,
        _fit,
        _resized,
        _webp,
    )

    name = str(path)
    size = pyvips.Image.new_from_file(name).width, pyvips.Image.new_from_file(name).height

    def shrink(long_side):
        return lambda: pyvips.Image.thumbnail(
            name, long_side, height=long_side, size="down"
        ).copy_memory()

    larger = _resized(shrink(THUMB_DENSE_SIZE)(), _fit(size, THUMB_DENSE_SIZE))
    thumb = _resized(larger, _fit(size, THUMB_SIZE))
    previewed = shrink(PREVIEW_SIZE)()
    steps = {
        "decode alone": lambda: pyvips.Image.new_from_file(name, access="sequential").copy_memory(),
        "decode + shrink to dense": shrink(THUMB_DENSE_SIZE),
        "encode dense": lambda: _webp(larger, DENSE_WEBP_QUALITY),
        "resize 1x": lambda: _resized(larger, _fit(size, THUMB_SIZE)),
        "encode 1x": lambda: _webp(thumb),
        "first view: decode + shrink to preview": shrink(PREVIEW_SIZE),
        "first view: encode preview": lambda: _webp(previewed),
    }
    return {step: best_of(fn, repeats)[0] * 1000 for step, fn in steps.items()}


def quality(label, path, outputs):
    """SSIM of each alternative's renditions against a lossless LANCZOS resize of the original."""
    reference = truth(path)
    figures = []
    for name, files in outputs.items():
        parts = []
        for kind in ("thumbnail", "thumbnail_2x", "preview"):
            if kind not in files:
                continue
            ref = luma(reference[kind])
            # Non-overlapping windows on the preview: it has 7x the thumbnail's pixels.
            step = 8 if kind == "preview" else 4
            parts.append(f"{ssim(ref, luma(files[kind], ref[0]), step=step):.4f}")
        figures.append(
            figure(
                f"{label}: SSIM, {name}",
                " / ".join(parts),
                "",
                note="thumbnail / 2x / preview against a lossless LANCZOS resize of the "
                "original; 1.0 = identical",
            )
        )
    return figures


def fmt_load(load):
    return " ".join(f"{v:.2f}" for v in load)


def main(argv):
    result = run(argv)
    report("store", result, parse(argv).json)


if __name__ == "__main__":
    main(sys.argv[1:])
