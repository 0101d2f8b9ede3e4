"""`make bench`: run the benchmarks, print a table each, write data/bench-results.json.

Benchmarks print figures; they are not tests and never fail on a number. Every figure stands
next to its reference ("limit") measured in the same run, so it can be read as a ratio on a
noisy machine.

    .venv/bin/python tests/benchmarks/run.py [--quick] [NAME ...] [-- FLAGS FOR PIPELINE]
    make bench                     # everything at the issues' sizes (~30 min on 2 cores)
    make bench ARGS=--quick        # small sizes, ~3 min
    make bench ARGS="gallery pageweight"

Names: store, memory, pipeline, pipeline-webhook, arrivals, capacity, gallery,
gallery-statistics, pageweight, pageweight-2x, zip, onscreen, and, when DATABASE_URL and
REDIS_URL are both set, pipeline-pg, pipeline-pg-webhook and capacity-pg (the same runs on
PostgreSQL with Redis as broker and cache, in a fresh database that is dropped afterwards).
Each benchmark runs in a process of its own (each configures Django for its own database).
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT  # noqa: E402

PG = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
# name: (script, flags at full size, flags for --quick)
BENCHMARKS = {
    "store": ("store.py", [], ["--repeats", "3"]),
    "memory": ("memory.py", [], []),
    "pipeline": ("pipeline.py", [], ["--generations", "10", "--seconds", "5"]),
    "pipeline-webhook": (
        "pipeline.py",
        ["--webhook"],
        ["--webhook", "--generations", "10", "--seconds", "5"],
    ),
    # Completions arriving as Akool delivers them (Poisson): 1,000 images over 10 minutes.
    "arrivals": (
        "pipeline.py",
        ["--webhook", "--per-minute", "100"],
        ["--webhook", "--generations", "10", "--seconds", "5", "--per-minute", "20"],
    ),
    # The sustained rate stored with completion -> stored p95 within 5 s (a sweep of arrivals).
    "capacity": ("capacity.py", [], ["--rates", "60,240", "--minutes", "0.5"]),
    "capacity-pg": (
        "capacity.py",
        ["--backend", "pg"],
        ["--backend", "pg", "--rates", "60,240", "--minutes", "0.5"],
    ),
    "pipeline-pg": (
        "pipeline.py",
        ["--backend", "pg"],
        ["--backend", "pg", "--generations", "10", "--seconds", "5"],
    ),
    "pipeline-pg-webhook": (
        "pipeline.py",
        ["--backend", "pg", "--webhook"],
        ["--backend", "pg", "--webhook", "--generations", "10", "--seconds", "5"],
    ),
    "gallery": ("gallery.py", [], ["--images", "10000", "--requests", "10"]),
    "gallery-statistics": (
        "gallery.py",
        ["--statistics"],
        ["--statistics", "--images", "30000", "--requests", "10"],
    ),
    "pageweight": ("pageweight.py", [], []),
    # The same gallery on a dense screen (device pixel ratio 2), which fetches the 2x thumbnails.
    "pageweight-2x": ("pageweight.py", ["--scale", "2"], ["--scale", "2"]),
    "zip": ("zip.py", [], ["--images", "50", "--megabytes", "1"]),
    "onscreen": ("onscreen.py", [], ["--generations", "4"]),
}
DEFAULT = [name for name in BENCHMARKS if PG or "-pg" not in name]


def main(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    else:
        extra = []
    quick = "--quick" in argv
    names = [a for a in argv if a != "--quick"] or DEFAULT
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown}; known: {', '.join(BENCHMARKS)}")
    results = []
    for name in names:
        script, full, small = BENCHMARKS[name]
        flags = (small if quick else full) + (extra if script == "pipeline.py" else [])
        started = time.monotonic()
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            print(f"\n### {name} {' '.join(flags)}", flush=True)
            done = subprocess.run(
                [sys.executable, str(HERE / script), *flags, "--json", out.name], cwd=ROOT
            )
            text = Path(out.name).read_text()
        if done.returncode == 0 and text:
            result = json.loads(text)
        else:  # a broken benchmark is reported; the others still run
            result = {"name": name, "figures": [], "error": f"exit code {done.returncode}"}
            print(f"  ERROR: {name} exited with {done.returncode} (see above)")
        result["seconds"] = round(time.monotonic() - started, 1)
        results.append(result)
    out = ROOT / "data" / "bench-results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "quick": quick,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cores": os.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "results": results,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    for r in results:
        print(f"  {r['name']:28} {r['seconds']:7.1f} s{'  ERROR' if r.get('error') else ''}")


if __name__ == "__main__":
    main(sys.argv[1:])
