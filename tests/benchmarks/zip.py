"""ZIP download: throughput and the web process's memory while it streams a large archive.

    .venv/bin/python tests/benchmarks/zip.py [--images 200] [--megabytes 2] [--storage both]

Seeds a team with `--images` done images whose originals are noisy PNGs of about `--megabytes`
each (noise does not compress, like real photos), starts gunicorn (one worker, one thread) on a
production-like configuration, signs in and POSTs "every image" to the ZIP endpoint, reading
the response in 1 MiB pieces and discarding them. Figures:

- ZIP throughput in MB/s, beside its limit: reading the same files straight from disk in this
  process (the most a server could send them at).
- Peak RSS of the gunicorn worker while streaming (VmHWM, reset just before the download by
  writing 5 to /proc/<pid>/clear_refs) against its RSS when idle after one warm-up request.

`--storage` picks where the originals live: local media, S3 (moto's server on loopback, run
in this process, so its memory is not the worker's), or both (the default: the S3 run is a
second process, as Django's storage is set once per process). With S3 the throughput's limit
is reading the same objects from the bucket in one process.
"""

import argparse
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import (  # noqa: E402
    Browserless,
    Gunicorn,
    figure,
    manage,
    production_env,
    report,
    setup_django,
)

EMAIL = "zip@bench.example"
PASSWORD = secrets.token_urlsafe(16)
MB = 1_000_000


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--megabytes", type=float, default=2.0)
    p.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    p.add_argument("--json", help="also write the result to this file (used by run.py)")
    return p.parse_args(argv)


def noisy_png(megabytes):
    from PIL import Image

    side = int((megabytes * MB / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue(), side


def seed(count, megabytes):
    import hashlib

    from django.core.files.base import ContentFile

    from generator.models import Generation, Job, Membership, Role, State, Team, User

    user = User.objects.create_user(EMAIL, PASSWORD)
    team = Team.objects.create(name="Zip bench")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    data, side = noisy_png(megabytes)
    digest = hashlib.sha256(data).hexdigest()
    paths = []
    for i in range(count):
        generation = Generation.objects.create(team=team, author=user, prompt=f"noise field {i}")
        job = Job(generation=generation, team=team, author=user, state=State.DONE)
        job.original.save(f"{job.code}.png", ContentFile(data), save=False)
        job.format, job.width, job.height = "PNG", side, side
        job.sha256, job.original_bytes = digest, len(data)
        job.save()
        paths.append(job)
    return team, paths


def status_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def worker_pid(master):
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def read_files(jobs):
    """Read every original from its storage in 1 MiB pieces, as the ZIP does: (bytes, s)."""
    from generator.lib.storage import file_chunks

    started = time.perf_counter()
    total = 0
    for job in jobs:
        for block in file_chunks(job.original, chunk_size=1 << 20):
            total += len(block)
    return total, time.perf_counter() - started


def stream_zip(client, team_code):
    """POST every image to the ZIP endpoint; (Content-Length, bytes read, seconds)."""
    csrf = client.cookies["csrftoken"]
    headers = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        "X-CSRFToken": csrf,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    started = time.perf_counter()
    client.conn.request("POST", f"/t/{team_code}/zip/", body="all=1", headers=headers)
    response = client.conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"ZIP answered HTTP {response.status}: {response.read()[:500]!r}")
    total = 0
    while block := response.read(1 << 20):
        total += len(block)
    return int(response.headers["Content-Length"]), total, time.perf_counter() - started


def run(argv=()):
    opts = parse(argv)
    if opts.storage == "both":
        local = run_one(opts, "local")
        s3 = run_in_child(opts, "s3")
        return {
            **local,
            "params": {**local["params"], "storage": "both"},
            "figures": local["figures"] + s3["figures"],
            "notes": local["notes"] + s3["notes"],
            "content_length_matches": local["content_length_matches"]
            and s3["content_length_matches"],
        }
    return run_one(opts, opts.storage)


def run_in_child(opts, storage):
    """This benchmark with `--storage storage` in a process of its own; its result."""
    flags = ["--images", str(opts.images), "--megabytes", str(opts.megabytes)]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, __file__, *flags, "--storage", storage, "--json", out.name],
            check=True,
        )
        return json.loads(Path(out.name).read_text())


def run_one(opts, storage):
    tmp = Path(tempfile.mkdtemp(prefix="akool-bench-zip-"))
    server = None
    try:
        extra = {}
        if storage == "s3":
            from tests.s3_server import BUCKET, client, s3_env, start_server

            server, endpoint = start_server()
            client(endpoint).create_bucket(Bucket=BUCKET)
            extra = s3_env(endpoint)
        return _run(opts, tmp, storage, extra)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _run(opts, tmp, storage, extra):
    env = production_env(tmp, **extra)
    os.environ.update(env)
    (tmp / "media").mkdir()
    (tmp / "static").mkdir()
    manage(env, "collectstatic", "--noinput")
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    setup_django()
    team, paths = seed(opts.images, opts.megabytes)
    with Gunicorn(env, tmp / "static", tmp / "gunicorn.log", workers=1, threads=1) as server:
        client = Browserless(server.url)
        client.login(EMAIL, PASSWORD)
        client.request("GET", "/")  # warm-up: imports and templates loaded
        pid = worker_pid(server.proc.pid)
        idle_kb = status_kb(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        length, streamed, seconds = stream_zip(client, team.code)
        peak_kb = status_kb(pid, "VmHWM")
    disk_bytes, disk_seconds = read_files(paths)
    zip_rate = streamed / MB / seconds
    disk_rate = disk_bytes / MB / disk_seconds
    # The local figures keep their names from before S3 was measured too.
    label = "" if storage == "local" else f" ({storage.upper()})"
    source = "disk" if storage == "local" else "the bucket"
    figures = [
        figure(
            f"zip throughput{label}",
            round(zip_rate, 1),
            "MB/s",
            limit=round(disk_rate, 1),
            note=f"limit = reading the same originals from {source} in one process",
        ),
        figure(f"zip size{label}", round(streamed / MB, 1), "MB", note=f"Content-Length {length}"),
        figure(f"worker RSS idle{label}", round(idle_kb / 1024, 1), "MiB"),
        figure(
            f"worker peak RSS streaming{label}",
            round(peak_kb / 1024, 1),
            "MiB",
            target=f"<= {round(idle_kb / 1024 + 50, 1)}",
            limit=round(idle_kb / 1024, 1),
            note="VmHWM of the gunicorn worker; target = idle + 50 MiB",
        ),
    ]
    same = length == streamed
    return {
        "name": "zip",
        "params": {"images": opts.images, "megabytes": opts.megabytes, "storage": storage},
        "figures": figures,
        "content_length_matches": same,
        "notes": [f"{storage}: Content-Length {'equals' if same else 'DIFFERS FROM'} bytes"],
    }


def main(argv):
    result = run(argv)
    report("zip", result, parse(argv).json)


if __name__ == "__main__":
    main(sys.argv[1:])
