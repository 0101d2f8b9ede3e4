"""Memory: peak RSS of one process storing a 4K noisy PNG, the way store_job does.

    .venv/bin/python tests/benchmarks/memory.py

The parent writes a 3840x2160 RGB PNG of random bytes (compress_level=1, ~25 MB: noise does not
compress) and serves it over loopback HTTP. A fresh child process reports its idle RSS after
django.setup() and importing generator.tasks (a worker waiting for work), then does store_job's
work minus the row update: AkoolClient.download() streams the file into a temporary file,
generator.lib.imaging.derive() validates it and makes the two thumbnails, and the three files
are written to a FileSystemStorage; then it makes the preview from the stored original, as its
first view does. Peak RSS is the kernel's high-water mark (ru_maxrss), after the store step and
after the preview.
"""

import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, figure, print_table, setup_django  # noqa: E402

TARGET_MB = 200
WIDTH, HEIGHT = 3840, 2160


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(url, profile):
    setup_django()
    from django.core.files.base import ContentFile, File
    from django.core.files.storage import FileSystemStorage

    import generator.tasks as tasks
    from generator.akool.client import AkoolClient
    from generator.lib.imaging import derive, preview_of

    idle = _maxrss_mb()
    if profile:
        import tracemalloc

        tracemalloc.start()
    with tempfile.TemporaryDirectory() as media, tempfile.TemporaryFile() as tmp:
        client = AkoolClient("http://127.0.0.1", "bench")
        client.download(url, tmp, max_bytes=tasks.DOWNLOAD_MAX_BYTES, deadline=60)
        derived = derive(tmp)
        storage = FileSystemStorage(location=media)
        tmp.seek(0)
        storage.save("original.png", File(tmp))
        storage.save("thumb.webp", ContentFile(derived.thumbnail))
        if derived.thumbnail_2x:
            storage.save("thumb-2x.webp", ContentFile(derived.thumbnail_2x))
        peak_store = _maxrss_mb()
        # The preview, as its first view makes it from the stored original.
        with storage.open("original.png", "rb") as original:
            storage.save(
                "preview.webp", ContentFile(preview_of(original, (derived.width, derived.height)))
            )
    result = {
        "idle_mb": idle,
        "store_peak_mb": peak_store,
        "peak_mb": _maxrss_mb(),
        "width": derived.width,
    }
    if profile:
        current, peak = tracemalloc.get_traced_memory()
        result["tracemalloc_peak_mb"] = peak / 2**20
    print(json.dumps(result))


def make_png(path):
    from PIL import Image

    image = Image.frombytes("RGB", (WIDTH, HEIGHT), os.urandom(WIDTH * HEIGHT * 3))
    image.save(path, "PNG", compress_level=1)
    return os.path.getsize(path)


def _run_child(url, profile=False):
    args = [sys.executable, __file__, "--child", url] + (["--profile"] if profile else [])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "akool_web.settings"}
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(argv=()):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noise-4k.png"
        size = make_png(path)
        handler = functools.partial(_QuietHandler, directory=tmp)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/{path.name}"
        try:
            measured = _run_child(url)
            notes = []
            peak = measured["peak_mb"]
            prof = _run_child(url, profile=True) if peak > TARGET_MB else None
        finally:
            server.shutdown()
        if prof:
            notes.append(
                f"peak {peak:.0f} MB misses {TARGET_MB} MB; tracemalloc (Python heap only) peaks "
                f"at {prof['tracemalloc_peak_mb']:.1f} MB, so the excess is Pillow's native pixel "
                "buffers (see derive())."
            )
    decoded_mb = WIDTH * HEIGHT * 4 / 2**20  # Pillow keeps RGB as 4 bytes per pixel
    figures = [
        figure("png bytes", size, "B", target="20-30 MB", limit=None),
        figure("idle RSS (worker before the task)", round(measured["idle_mb"], 1), "MB"),
        figure(
            "peak RSS of the store step (download + derive + write)",
            round(measured["store_peak_mb"], 1),
            "MB",
            target=f"<= {TARGET_MB}",
            limit=round(measured["idle_mb"] + decoded_mb, 1),
        ),
        figure(
            "peak RSS, with the preview made afterwards (first view)",
            round(peak, 1),
            "MB",
            target=f"<= {TARGET_MB}",
            limit=round(measured["idle_mb"] + decoded_mb, 1),
            note=notes[0] if notes else "",
        ),
        figure(
            "peak - idle",
            round(peak - measured["idle_mb"], 1),
            "MB",
            limit=round(decoded_mb, 1),
            note="limit = one decoded 3840x2160 RGB(X) frame, what a whole-frame decode holds "
            "(derive() decodes a strip at a time, so it can stay below)",
        ),
    ]
    return {"name": "memory", "figures": figures, "notes": notes}


def main(argv):
    if argv[:1] == ["--child"]:
        child(argv[1], "--profile" in argv)
        return
    result = run(argv)
    print_table("memory", result["figures"], result["notes"])
    if "--json" in argv:
        Path(argv[argv.index("--json") + 1]).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
