"""Management commands: the demo account, and `serve` (what `make run` starts)."""

import contextlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from generator.models import Membership, Role, User

ROOT = Path(__file__).resolve().parent.parent


def run_ensure_demo(capsys):
    call_command("ensure_demo")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("Demo login: "))
    email, password = line.removeprefix("Demo login: ").split(" / ")
    return email, password


def test_ensure_demo_makes_an_account_that_can_sign_in(db, capsys, settings, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.AKOOL_SANDBOX = True
    email, password = run_ensure_demo(capsys)
    user = User.objects.get(email="demo@example.com")
    assert email == "demo@example.com" and user.check_password(password)
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.team.name == "Demo team"
    assert membership.team.is_sandbox and membership.team.has_credentials
    assert user.current_team == membership.team


def test_running_twice_is_harmless_and_the_printed_password_works(db, capsys, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _, first = run_ensure_demo(capsys)
    _, second = run_ensure_demo(capsys)
    assert first != second
    assert User.objects.get(email="demo@example.com").check_password(second)
    assert User.objects.filter(email="demo@example.com").count() == 1
    assert Membership.objects.filter(team__name="Demo team").count() == 1


def test_demo_password_comes_from_the_environment(db, capsys, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "show-me-the-demo")
    _, password = run_ensure_demo(capsys)
    assert password == "show-me-the-demo"
    assert User.objects.get(email="demo@example.com").check_password("show-me-the-demo")


def test_the_demo_account_opens_the_admin_on_a_development_install_only(db, capsys, settings):
    settings.DEBUG = True
    run_ensure_demo(capsys)
    user = User.objects.get(email="demo@example.com")
    assert user.is_staff and user.is_superuser

    settings.DEBUG = False
    run_ensure_demo(capsys)
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser


# --- serve: real processes on free loopback ports, each in a temporary DATA_DIR ---------------

# Generous bounds for a loaded machine; nothing here measures time.
WAIT = 120


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_env(data_dir, **extra):
    """This environment minus anything that points at a real database, broker or folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "SQLITE_PATH",
        "MEDIA_ROOT",
        "STATIC_ROOT",
        "AKOOL_SANDBOX_URL",
        "PUBLIC_BASE_URL",
        "PORT",
        "DEBUG",
    ):
        env.pop(name, None)
    env.update(DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", Q_WORKERS="1")
    env.update(extra)
    return env


def manage(*args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
        **kwargs,
    )


def processes_in_session(sid):
    """{pid: (process group, command line)} of the live processes in a session (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if session == sid and state != "Z":
            found[int(entry.name)] = (pgrp, cmdline)
    return found


def wait_until(condition, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


class Serve:
    """`manage.py serve` in a session of its own, so the test can signal it like a terminal."""

    def __init__(self, data_dir, port):
        self.port = port
        self.log = data_dir.parent / "serve.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port)],
                cwd=ROOT,
                env=command_env(data_dir, DEMO_PASSWORD="test-the-demo"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self):
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text, count=1):
        def seen():
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited ({self.proc.returncode}):\n{self.output()}")
            return self.output().count(text) >= count

        wait_until(seen, repr(text))

    def processes(self):
        return processes_in_session(self.proc.pid)

    def child(self, name):
        """The pid of the runserver or qcluster process that serve started (a group leader)."""
        leaders = [
            pid
            for pid, (pgrp, cmdline) in self.processes().items()
            if pid == pgrp and f"manage.py {name}" in cmdline
        ]
        assert len(leaders) == 1, (name, self.processes())
        return leaders[0]

    def kill_everything(self):
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=WAIT)


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory):
    """One migrated database file, copied for each serve test (migrating is the slow part)."""
    data_dir = tmp_path_factory.mktemp("migrated") / "data"  # not there yet: serve makes it
    result = manage("migrate", "--noinput", env=command_env(data_dir))
    assert result.returncode == 0, result.stderr
    return data_dir / "db.sqlite3"


@pytest.fixture
def serve(tmp_path, migrated_db):
    if not Path("/proc/self/stat").exists():
        pytest.skip("finds serve's processes through /proc")
    started = []

    def start():
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        shutil.copy(migrated_db, data_dir / "db.sqlite3")
        server = Serve(data_dir, free_port())
        started.append(server)
        server.wait_for_output("akool-web is running at")
        server.wait_for_output("] running.")  # the worker's cluster is up too
        return server

    yield start
    for server in started:
        server.kill_everything()


def test_fresh_data_dir_is_made_by_the_app(tmp_path):
    data_dir = tmp_path / "nothing" / "here" / "yet"
    result = manage("check", env=command_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert (data_dir / "media").is_dir()


def test_a_data_dir_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = manage("check", env=command_env(tmp_path / "a-file" / "data"))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and "DATA_DIR" in last_line


class AnswersEverything(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"someone else's server")

    def log_message(self, *args):
        pass


def test_a_taken_port_fails_clearly_and_never_claims_to_run(tmp_path):
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AnswersEverything)
    port = other.server_address[1]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        result = manage("serve", "--port", str(port), env=command_env(tmp_path / "data"))
    finally:
        other.shutdown()
        other.server_close()
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "is running at" not in output
    assert "Demo login" not in output


def test_ctrl_c_stops_the_web_server_and_the_worker(serve):
    server = serve()
    web, worker = server.child("runserver"), server.child("qcluster")
    assert server.output().count("Demo login: demo@example.com / test-the-demo") == 1

    # What Ctrl-C does: SIGINT to the terminal's foreground process group.
    os.killpg(server.proc.pid, signal.SIGINT)
    assert server.proc.wait(timeout=WAIT) == 0
    wait_until(lambda: not server.processes(), "every process of the session to exit")
    assert web not in server.processes() and worker not in server.processes()
    assert "unexpectedly" not in server.output()
    with socket.socket() as probe:
        # The web server's port is free again (for a new server, as serve itself checks).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", server.port))


def test_sigterm_stops_both_too(serve):
    server = serve()
    server.proc.terminate()
    assert server.proc.wait(timeout=WAIT) == 0
    wait_until(lambda: not server.processes(), "every process of the session to exit")
    assert "unexpectedly" not in server.output()


def test_a_worker_that_dies_is_restarted(serve):
    server = serve()
    first = server.child("qcluster")
    os.kill(first, signal.SIGKILL)  # a crash: its own child processes are left behind

    server.wait_for_output("The worker stopped unexpectedly (exit code -9); restarting it.")
    server.wait_for_output("] running.", count=2)
    second = server.child("qcluster")
    assert second != first
    # What the dead worker left behind was cleaned up.
    assert not [pid for pid, (pgrp, _) in server.processes().items() if pgrp == first]
    assert server.proc.poll() is None

    os.killpg(server.proc.pid, signal.SIGINT)
    assert server.proc.wait(timeout=WAIT) == 0
    wait_until(lambda: not server.processes(), "every process of the session to exit")


def test_a_web_server_that_dies_stops_everything_with_a_clear_line(serve):
    server = serve()
    os.kill(server.child("runserver"), signal.SIGKILL)
    assert server.proc.wait(timeout=WAIT) != 0
    wait_until(lambda: not server.processes(), "every process of the session to exit")
    assert "The web server stopped unexpectedly" in server.output()
