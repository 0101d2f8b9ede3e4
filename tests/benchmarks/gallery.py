"""Gallery at scale: gallery pages over real HTTP from gunicorn (DEBUG off), at 1k and at 100k.

    .venv/bin/python tests/benchmarks/gallery.py [--images 100000] [--small 1000] [--requests 30]

1. A temporary SQLite database is seeded (`manage.py seed_gallery`) with --small images across
   3 teams, spread over a year, plus a user who owns them and 10 in-progress cards; the pages
   below are measured; a second fresh database holds --images images. Both are served at
   once (one gunicorn each) and their requests alternate, so the machine's other load falls
   on both sizes alike.
2. Pages of the first team: the studio (first gallery page), a deep keyset page (90% down,
   htmx), a prompt search, a filtered page (done + 4K), the person's 30 favourites (a selective
   filter), the live-update poll naming the 10 pending cards, and the slow check of a page with
   nothing pending (its since-cursor, nothing new). Each is fetched --requests times over one
   kept-alive connection after a warm-up.
3. Server time comes from a `Server-Timing` header that tests.benchmarks.bench_middleware adds
   (outermost middleware to response, so gunicorn and the socket are left out); client time
   is send-to-last-byte on loopback. SQL count comes from the same middleware.
4. Limit: the same gunicorn returning a static file (WhiteNoise) of each page's size, timed
   client-side: what any response of that size costs on this machine right now.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Browserless,
    Gunicorn,
    figure,
    manage,
    percentile,
    production_env,
    setup_django,
)

EMAIL, PASSWORD = "seed@example.com", "bench-Password-4821"
PENDING = 10
FAVOURITES = 30  # a selective filter: the person's few starred images among the team's many
TARGET_MS, TARGET_QUERIES = 30, 10


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=100_000, help="the large size (all teams)")
    p.add_argument("--small", type=int, default=1_000, help="the small size (all teams)")
    p.add_argument("--teams", type=int, default=3)
    p.add_argument("--requests", type=int, default=30, help="timed requests per page")
    p.add_argument("--json", help="also write the result to this file (used by run.py)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument(
        "--statistics",
        action="store_true",
        help="instead: each page at --images in-process, before and after SQLite's statistics",
    )
    return p.parse_args(list(argv))


def pages():
    """(name, path, extra headers) of every page measured, for the first seeded team."""
    from django.urls import reverse
    from django.utils import timezone

    from generator.cursors import LIVE_OVERLAP, make_cursor, make_live_token
    from generator.models import Job, State, Team

    team = Team.objects.get(name="Seed team 1")
    done = Job.objects.filter(team=team, dismissed=False).order_by("-created_at", "-id")
    deep = done[int(done.count() * 0.9)]
    pending = Job.objects.filter(team=team, state=State.PROCESSING).order_by("pk")[:PENDING]
    studio = reverse("studio", args=[team.code])
    htmx = {"HX-Request": "true"}
    poll = urlencode([("pending", f"{job.code}.{State.PROCESSING}") for job in pending])
    # The cursor a page just served would carry: the newest cards it already shows are "seen",
    # so the check answers "nothing new" as it does for an open, idle tab.
    now = timezone.now()
    shown = Job.objects.filter(team=team, created_at__gte=now - LIVE_OVERLAP)
    since = make_live_token(now, shown.values_list("code", flat=True))
    return [
        ("first page", studio, {}),
        (
            "deep page (90%)",
            reverse("studio_gallery", args=[team.code])
            + "?"
            + urlencode({"before": make_cursor(deep)}),
            htmx,
        ),
        ("prompt search", studio + "?" + urlencode({"q": "koi pond"}), {}),
        ("filtered", studio + "?" + urlencode({"status": "done", "resolution": "4k"}), {}),
        (f"favourites ({FAVOURITES} starred)", studio + "?fav=1", {}),
        (
            f"live poll ({PENDING} pending)",
            reverse("studio_poll", args=[team.code]) + "?" + poll,
            htmx,
        ),
        (
            "slow check (nothing new)",
            reverse("studio_poll", args=[team.code]) + "?" + urlencode({"since": since}),
            htmx,
        ),
    ]


def static_copies(client, page_list, folder):
    """A static file of each page's size (the page's own bytes: same size, same compressibility)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for i, (name, path, headers) in enumerate(page_list):
        status, _, body, _ = client.request("GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"{name}: HTTP {status} for {path}")
        names[name] = f"page-{i}.html"
        (folder / names[name]).write_bytes(body)
    return names


def fetch(client, path, headers):
    status, head, body, seconds = client.request("GET", path, headers=headers)
    if status != 200:
        raise RuntimeError(f"HTTP {status} for {path}")
    timing = head.get("Server-Timing", "")
    server = float(timing.split("dur=")[1].split(",")[0]) if "dur=" in timing else None
    queries = int(head["X-Query-Count"]) if head.get("X-Query-Count") else None
    return server, seconds * 1000, queries, len(body)


def summarise(samples):
    server = [s for s, _, _, _ in samples if s is not None]
    wall = [w for _, w, _, _ in samples]
    queries = [q for _, _, q, _ in samples if q is not None]
    return {
        "server_p50": percentile(server, 0.5),
        "server_p95": percentile(server, 0.95),
        "client_p50": percentile(wall, 0.5),
        "client_p95": percentile(wall, 0.95),
        "queries": max(queries) if queries else None,
        "bytes": samples[-1][3] if samples else 0,
    }


def prepare(env, tmp, opts, size):
    """Seed a fresh database with `size` images; its env, page list and static copies."""
    import time

    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from generator.models import Favourite, Job, Team, User

    db = tmp / f"db-{size}.sqlite3"
    env = {**env, "SQLITE_PATH": str(db)}
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    # This process follows along: the default connection is pointed at this size's file.
    connections.close_all()
    connections["default"].settings_dict["NAME"] = db
    started = time.monotonic()
    call_command(
        "seed_gallery",
        images=size,
        teams=opts.teams,
        email=EMAIL,
        password=PASSWORD,
        pending=PENDING,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    for team in Team.objects.filter(name__startswith="Seed team"):
        team.set_credentials("sk-bench-not-a-real-key")
        team.save()
    user = User.objects.get(email=EMAIL)
    starred = Job.objects.filter(team__name="Seed team 1", state="done").order_by("?")
    Favourite.objects.bulk_create([Favourite(user=user, job=job) for job in starred[:FAVOURITES]])
    seed_seconds = round(time.monotonic() - started, 1)
    page_list = pages()
    # The page sizes for the static copies, from the app itself (in-process, same database).
    local = Client(HTTP_HOST="127.0.0.1")
    local.force_login(user)

    class Local:
        def request(self, method, path, headers=None):
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
            response = local.get(path, **extra)
            return response.status_code, response.headers, response.content, 0

    static_root = tmp / f"static-{size}"
    names = static_copies(Local(), page_list, static_root)
    team_rows = Job.objects.filter(team__name="Seed team 1").count()
    connections.close_all()
    return {
        "env": env,
        "pages": page_list,
        "static_root": static_root,
        "names": names,
        "team_rows": team_rows,
        "seed_seconds": seed_seconds,
    }


def measure(tmp, opts, prepared):
    """Both sizes served at once, their requests alternated, so load from anything else on
    the machine falls on both alike and the small-vs-large comparison stays fair."""
    from contextlib import ExitStack

    sizes = list(prepared)
    rows = {size: {} for size in sizes}
    with ExitStack() as stack:
        clients = {}
        for size in sizes:
            p = prepared[size]
            server = stack.enter_context(
                Gunicorn(p["env"], p["static_root"], tmp / f"gunicorn-{size}.log")
            )
            clients[size] = Browserless(server.url)
            clients[size].login(EMAIL, PASSWORD)
        for i, (name, _, _) in enumerate(prepared[sizes[0]]["pages"]):
            samples = {size: [] for size in sizes}
            statics = {size: [] for size in sizes}
            for _ in range(opts.requests + 3):
                for size in sizes:
                    _, path, headers = prepared[size]["pages"][i]
                    samples[size].append(fetch(clients[size], path, headers))
                    static = f"/bench-static/{prepared[size]['names'][name]}"
                    statics[size].append(fetch(clients[size], static, {}))
            for size in sizes:
                row = summarise(samples[size][3:])  # the first 3: warm-up
                static = summarise(statics[size][3:])
                row["static_p50"], row["static_p95"] = static["client_p50"], static["client_p95"]
                rows[size][name] = row
    return rows


def statistics_effect(tmp, opts):
    """Each page at --images, rendered in-process (Django's test client), without planner
    statistics and then with them (sqlite_stats.optimize_if_due(), as the follower runs it):
    CPU time, median of --requests, in the same process one after the other."""
    import time

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from generator.lib import sqlite_stats
    from generator.models import User

    prepared = prepare(production_env(tmp), tmp, opts, opts.images)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=EMAIL))

    def measure_pages():
        rows = {}
        for name, path, headers in prepared["pages"]:
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            times = []
            for i in range(opts.requests + 2):
                t0 = time.process_time()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path, **extra)
                if i >= 2:  # warm-up
                    times.append((time.process_time() - t0) * 1000)
                assert response.status_code == 200, (name, response.status_code)
            rows[name] = (percentile(times, 0.5), len(queries))
            reset_queries()
        return rows

    before = measure_pages()
    t0 = time.perf_counter()
    sqlite_stats._last_run = None
    ran = sqlite_stats.optimize_if_due()
    took = (time.perf_counter() - t0) * 1000
    after = measure_pages()
    figures = [
        figure(
            f"{name}: in-process CPU p50 @{opts.images}, with statistics",
            round(after[name][0], 1),
            "ms",
            limit=round(before[name][0], 1),
            note=f"limit = the same page before; {after[name][1]} queries",
        )
        for name in before
    ]
    figures.append(
        figure(
            "statistics pass (optimize_if_due)",
            round(took, 1),
            "ms",
            note=f"ran: {ran}; {prepared['team_rows']} images in team 1",
        )
    )
    return {
        "name": "gallery-statistics",
        "params": {"images": opts.images, "requests": opts.requests},
        "figures": figures,
        "notes": [f"load average at the end {os.getloadavg()}"],
    }


def run(argv=()):
    opts = parse(argv)
    tmp = Path(tempfile.mkdtemp(prefix="akool-bench-gallery-"))
    env = production_env(tmp)
    os.environ.update(env)
    for k in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"):
        os.environ.pop(k, None)
    (tmp / "media").mkdir()
    try:
        manage(env, "collectstatic", "--noinput")
        setup_django()
        if opts.statistics:
            return statistics_effect(tmp, opts)
        # A fresh database per size, so each has a year of history at its own density.
        prepared = {size: prepare(env, tmp, opts, size) for size in (opts.small, opts.images)}
        measured = measure(tmp, opts, prepared)
        results = {
            size: {"team_rows": prepared[size]["team_rows"], "pages": measured[size]}
            for size in prepared
        }
        seed_seconds = {size: prepared[size]["seed_seconds"] for size in prepared}
        return report(opts, results, seed_seconds)
    finally:
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def report(opts, results, seed_seconds):
    small, large = opts.small, opts.images
    figures = []
    for name in results[large]["pages"]:
        a, b = results[small]["pages"][name], results[large]["pages"][name]
        figures += [
            figure(
                f"{name}: server p50 @{large}",
                round(b["server_p50"], 1),
                "ms",
                target=f"<= {TARGET_MS}",
                limit=round(b["static_p50"], 1),
                note=f"@{small}: {a['server_p50']:.1f} ms",
            ),
            figure(
                f"{name}: server p95 @{large}",
                round(b["server_p95"], 1),
                "ms",
                limit=round(b["static_p95"], 1),
            ),
            figure(
                f"{name}: client p50 @{large}",
                round(b["client_p50"], 1),
                "ms",
                limit=round(b["static_p50"], 1),
            ),
            figure(
                f"{name}: SQL queries @{large}",
                b["queries"],
                "",
                target=f"<= {TARGET_QUERIES}, flat",
                limit=a["queries"],
                note=f"limit = the count @{small}; {b['bytes']} bytes",
            ),
        ]
    return {
        "name": "gallery",
        "params": {
            "images": large,
            "small": small,
            "teams": opts.teams,
            "requests": opts.requests,
            "team_rows": {k: v["team_rows"] for k, v in results.items()},
            "seed_seconds": seed_seconds,
        },
        "figures": figures,
        "raw": results,
        "notes": [
            "server = Server-Timing from the outermost middleware (view, ORM, templates); "
            "client = loopback send-to-last-byte over keep-alive",
            "limit for times = the same gunicorn serving a static file of the page's size "
            "(WhiteNoise), client-side",
        ],
    }


def print_result(result):
    from common import print_table

    print_table(f"gallery {result['params']}", result["figures"], result["notes"])
    small, large = result["params"]["small"], result["params"]["images"]
    raw = result["raw"]
    head = (
        f"{'page':28} {'N':>7} {'srv p50':>8} {'srv p95':>8} {'cli p50':>8} {'static':>7} "
        f"{'SQL':>4} {'bytes':>7}"
    )
    print("\n  " + head)
    for name in raw[str(large)]["pages"] if str(large) in raw else raw[large]["pages"]:
        for size in (small, large):
            r = (raw.get(size) or raw[str(size)])["pages"][name]
            print(
                f"  {name:28} {size:>7} {r['server_p50']:8.1f} {r['server_p95']:8.1f} "
                f"{r['client_p50']:8.1f} {r['static_p50']:7.1f} {r['queries']:>4} {r['bytes']:>7}"
            )


def main(argv):
    result = run(argv)
    if result["name"] == "gallery-statistics":
        from common import print_table

        print_table(f"gallery-statistics {result['params']}", result["figures"], result["notes"])
    else:
        print_result(result)
    out = parse(argv).json
    if out:
        Path(out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
