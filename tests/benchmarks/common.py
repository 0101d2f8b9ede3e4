"""Shared helpers for the benchmark scripts (not tests: they print figures and never fail)."""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_django():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "akool_web.settings")
    import django

    django.setup()


def figure(name, value, unit="", target=None, limit=None, note=""):
    """One measured number, with its target (a string like '<= 200') and a reference limit."""
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": target,
        "limit": limit,
        "note": note,
    }


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def report(title, result, json_path=None):
    """Print a benchmark's figures as a table and, when asked (run.py does), keep them as JSON."""
    print_table(f"{title} {result['params']}", result["figures"], result["notes"])
    if json_path:
        Path(json_path).write_text(json.dumps(result, default=str))


def print_table(title, figures, notes=()):
    rows = [("figure", "value", "unit", "target", "limit")]
    for f in figures:
        rows.append((f["name"], _fmt(f["value"]), f["unit"], _fmt(f["target"]), _fmt(f["limit"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print(f"\n== {title} ==")
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for f in figures:
        if f.get("note"):
            print(f"  note [{f['name']}]: {f['note']}")
    for n in notes:
        print(f"  note: {n}")
    sys.stdout.flush()


# --- processes and HTTP, shared by the benchmarks that run a production-like server ----------


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def production_env(tmp, **extra):
    """Environment of a production-like deployment on loopback, with its own SQLite and media.

    DEBUG off with the documented production variables; HTTPS-only cookies and the HTTPS
    redirect are off because the benchmark talks plain HTTP to 127.0.0.1.
    """
    import secrets

    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for k in ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"):
        env.pop(k, None)
    env.update(
        DJANGO_SETTINGS_MODULE="akool_web.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,testserver",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_SSL_REDIRECT="0",
        AKOOL_SANDBOX="0",
        DATA_DIR=str(tmp),
        SQLITE_PATH=str(Path(tmp) / "db.sqlite3"),
        MEDIA_ROOT=str(Path(tmp) / "media"),
        LOG_LEVEL="WARNING",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env, *args):
    import subprocess

    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


class Gunicorn:
    """gunicorn serving tests/benchmarks/bench_wsgi.py (the real app plus the bench headers)."""

    def __init__(self, env, static_root, log, workers=2, threads=2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "BENCH_STATIC_ROOT": str(static_root)}
        self.log = Path(log)
        self.args = [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench_wsgi:application",
            "--pythonpath",
            str(Path(__file__).resolve().parent),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            # gthread keeps connections alive (the sync worker closes each one), like a real
            # deployment behind a proxy; the client measures over one kept-alive connection.
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
        ]
        self.proc = None

    def __enter__(self):
        import subprocess

        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"{self.url}/healthz/", proc=self.proc)
        return self

    def __exit__(self, *exc):
        stop_process(self.proc)


def stop_process(proc, grace=10):
    import signal
    import subprocess

    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def wait_http(url, timeout=60, proc=None):
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited (code {proc.returncode}) before answering")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Browserless:
    """A keep-alive HTTP client with a cookie jar, enough to sign in and fetch pages."""

    def __init__(self, base_url):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes, seconds from sending to the last body byte)."""
        import time

        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        for value in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data, elapsed

    def login(self, email, password):
        import re
        from urllib.parse import urlencode

        status, _, page, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not token:
            raise RuntimeError(f"no login form (HTTP {status})")
        body = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": email,
                "password": password,
            }
        )
        status, _, _, _ = self.request(
            "POST", "/login/", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in failed (HTTP {status})")
