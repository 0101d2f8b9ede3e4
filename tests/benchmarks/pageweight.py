"""Page weight: a gallery of 48 finished 4K images in headless Chromium.

    .venv/bin/python tests/benchmarks/pageweight.py [--images 48] [--scale 2]

1. A temporary database gets one team with 48 done 4K images. Their files are real (with the
   2x thumbnail, which a screen at device pixel ratio 1 must not fetch and one at 2 must): a few
   3840x2160 pictures with photo-like texture (so they weigh what photos weigh) are stored and
   derived by generator.lib.imaging.derive(), exactly as the worker would; the 48 jobs share those
   files but each has its own URLs, so the browser fetches every one of them.
2. gunicorn (DEBUG off, WhiteNoise for static files) serves the app; Chromium (Debian's
   /usr/bin/chromium through Playwright) signs in with a real session and opens the studio.
3. Largest-contentful-paint is read with a buffered PerformanceObserver right after load;
   then the page is scrolled a screen at a time until all 48 cards are there (the gallery
   loads 24 per page) and every thumbnail has loaded.
4. Bytes transferred = sum over every response of its body size as received (encoded) plus
   headers, from Playwright's request.sizes(). Reference: the bytes of the 48 originals.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Browserless,
    Gunicorn,
    figure,
    manage,
    production_env,
    report,
    setup_django,
)

EMAIL, PASSWORD = "seed@example.com", "bench-Password-4821"
TARGET_BYTES = 2 * 1024 * 1024
VARIANTS = 4
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"

LCP_JS = """() => new Promise(resolve => {
  let last = null;
  new PerformanceObserver(list => {
    const entries = list.getEntries();
    last = entries[entries.length - 1];
  }).observe({type: "largest-contentful-paint", buffered: true});
  setTimeout(() => resolve(last ? {
    ms: last.startTime, size: last.size, tag: last.element ? last.element.tagName : null,
    url: last.url || null
  } : null), 500);
})"""


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=48)
    p.add_argument(
        "--scale",
        type=float,
        default=1,
        help="device pixel ratio (2: a dense screen, 2x thumbnails)",
    )
    p.add_argument("--json", help="also write the result to this file (used by run.py)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return p.parse_args(list(argv))


def photo_like(path, seed):
    """A 4K PNG that weighs what a photo does: a sandbox picture with texture at two scales.

    Coarse texture survives the resize to a thumbnail (so thumbnails weigh what a photo's do,
    ~20 KB); fine grain keeps the PNG from compressing away (~13 MB, like a 4K photo as PNG).
    """
    from PIL import Image

    from generator.sandbox.images import render_png

    render_png(path, 3840, 2160, f"harbour at dawn variant {seed}", seed)
    with Image.open(path) as picture:
        coarse = Image.effect_noise((640, 360), 64).convert("RGB")
        coarse = coarse.resize((3840, 2160), Image.Resampling.BICUBIC)
        fine = Image.effect_noise((3840, 2160), 40).convert("RGB")
        textured = Image.blend(Image.blend(picture.convert("RGB"), coarse, 0.35), fine, 0.12)
        textured.save(path, "PNG", compress_level=6)
    return path.stat().st_size


def seed(count, tmp):
    """One team with `count` done 4K jobs whose files were made by the real derive()."""
    from django.core.files.base import ContentFile, File
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.utils import timezone

    from generator.lib.imaging import derive, preview_of
    from generator.models import Generation, Job, State, Team, User

    call_command(
        "seed_gallery",
        images=0,
        teams=1,
        email=EMAIL,
        password=PASSWORD,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    team = Team.objects.get(name="Seed team 1")
    user = User.objects.get(email=EMAIL)
    files = []
    for i in range(VARIANTS):
        path = tmp / f"photo-{i}.png"
        size = photo_like(path, i)
        with path.open("rb") as fh:
            derived = derive(fh)
            fh.seek(0)
            original = default_storage.save(f"originals/photo-{i}.png", File(fh))
        thumb = default_storage.save(f"thumbs/photo-{i}.webp", ContentFile(derived.thumbnail))
        thumb_2x = default_storage.save(
            f"thumbs/photo-{i}-2x.webp", ContentFile(derived.thumbnail_2x)
        )
        with path.open("rb") as fh:
            data = preview_of(fh, (derived.width, derived.height))
        preview = default_storage.save(f"previews/photo-{i}.webp", ContentFile(data))
        files.append((original, thumb, thumb_2x, preview, size, derived))
    now = timezone.now()
    generations = [
        Generation.objects.create(
            team=team, author=user, prompt=f"harbour at dawn, 4K, set {g}", resolution="4k", batch=4
        )
        for g in range(-(-count // 4))
    ]
    jobs = []
    for n in range(count):
        original, thumb, thumb_2x, preview, size, d = files[n % VARIANTS]
        gen = generations[n // 4]
        jobs.append(
            Job(
                generation=gen,
                team=team,
                author=user,
                index=n % 4,
                state=State.DONE,
                akool_status=3,
                created_at=now - timezone.timedelta(seconds=n),
                stored_at=now,
                original=original,
                thumbnail=thumb,
                thumbnail_2x=thumb_2x,
                preview=preview,
                original_bytes=size,
                **d.facts,
            )
        )
    Job.objects.bulk_create(jobs)
    return team, sum(f[4] for f in (files[n % VARIANTS] for n in range(count))), files


def browse(server, team, count, scale=1):
    from playwright.sync_api import sync_playwright

    client = Browserless(server.url)
    client.login(EMAIL, PASSWORD)
    responses = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-quic"]
        )
        try:
            context = browser.new_context(
                viewport={"width": 1440, "height": 900}, device_scale_factor=scale
            )
            context.add_cookies(
                [
                    {"name": k, "value": v, "url": server.url}
                    for k, v in client.cookies.items()
                    if k in ("sessionid", "csrftoken")
                ]
            )
            page = context.new_page()
            page.on("requestfinished", lambda request: responses.append(request))
            started = time.monotonic()
            page.goto(f"{server.url}/t/{team.code}/", wait_until="load")
            lcp = page.evaluate(LCP_JS)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                cards = page.locator("article.job-card").count()
                # A screen at a time, as a person scrolls: a jump to the bottom would skip
                # rows whose lazy thumbnails never come near the viewport.
                page.evaluate("window.scrollBy(0, window.innerHeight)")
                page.wait_for_timeout(300)
                loaded = page.evaluate(
                    "() => [...document.querySelectorAll('img.thumb')]"
                    ".filter(i => i.complete && i.naturalWidth > 0).length"
                )
                if cards >= count and loaded >= count:
                    break
            page.wait_for_load_state("networkidle")
            elapsed = time.monotonic() - started
            sizes = []
            for request in responses:
                s = request.sizes()
                sizes.append(
                    (
                        request.resource_type,
                        s["responseBodySize"] + s["responseHeadersSize"],
                        request.url,
                    )
                )
            cards = page.locator("article.job-card").count()
        finally:
            browser.close()
    return {"lcp": lcp, "sizes": sizes, "cards": cards, "loaded": loaded, "seconds": elapsed}


def run(argv=()):
    opts = parse(argv)
    tmp = Path(tempfile.mkdtemp(prefix="akool-bench-pageweight-"))
    env = production_env(tmp)
    os.environ.update(env)
    for k in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"):
        os.environ.pop(k, None)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop never runs Django code
    (tmp / "media").mkdir()
    (tmp / "bench-static").mkdir()
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "createcachetable")
        manage(env, "collectstatic", "--noinput")
        setup_django()
        team, originals, files = seed(opts.images, tmp)
        with Gunicorn(env, tmp / "bench-static", tmp / "gunicorn.log") as server:
            seen = browse(server, team, opts.images, opts.scale)
    finally:
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    total = sum(size for _, size, _ in seen["sizes"])
    images = sum(size for kind, size, _ in seen["sizes"] if kind == "image")
    thumbs = [size for kind, size, url in seen["sizes"] if kind == "image" and "/thumb" in url]
    dense = sum(1 for kind, _, url in seen["sizes"] if kind == "image" and "/thumb2x/" in url)
    lcp = seen["lcp"] or {}
    figures = [
        figure(
            "cards shown / thumbnails loaded",
            f"{seen['cards']}/{seen['loaded']}",
            target=f"{opts.images}/{opts.images}",
        ),
        figure(
            "bytes transferred (all responses)",
            total,
            "B",
            target=f"<= {TARGET_BYTES}",
            limit=originals,
            note=f"limit = bytes of the {opts.images} originals ({originals / 2**20:.1f} MiB); "
            f"ratio {total / originals:.4f}",
        ),
        figure(
            "  of which images",
            images,
            "B",
            note=f"{len(thumbs)} thumbnails, {dense} of them the dense-screen one",
        ),
        figure(
            "  mean thumbnail",
            round(sum(thumbs) / len(thumbs)) if thumbs else None,
            "B",
            limit=round(originals / opts.images),
            note="limit = mean original",
        ),
        figure("requests", len(seen["sizes"]), ""),
        figure(
            "largest contentful paint",
            round(lcp["ms"]) if lcp.get("ms") is not None else None,
            "ms",
            note=f"element {lcp.get('tag')} {lcp.get('url') or ''}".strip(),
        ),
    ]
    return {
        "name": "pageweight" if opts.scale == 1 else f"pageweight-{opts.scale:g}x",
        "params": {"images": opts.images, "viewport": "1440x900", "scale": opts.scale},
        "figures": figures,
        "notes": [
            "bytes = encoded body + headers of every response, from Playwright request.sizes()"
        ],
    }


def main(argv):
    result = run(argv)
    report("pageweight", result, parse(argv).json)


if __name__ == "__main__":
    main(sys.argv[1:])
