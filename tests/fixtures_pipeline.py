"""A real django-q2 worker process for end-to-end tests, talking to the live test server."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """A `manage.py qcluster` subprocess sharing the test database and the live sandbox."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.log = ROOT / "data" / f"worker-{uuid.uuid4().hex[:8]}.log"

    def start(self):
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self):
        """SIGKILL the whole process group: the cluster and its worker processes die at once."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def database_env():
    """The environment for a subprocess of the app that uses the test database."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if db["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "akool_web.settings"
    return env


def worker_env(live_server, **extra):
    env = database_env()
    env.update(
        AKOOL_SANDBOX_URL=f"{live_server.url}/sandbox/akool",
        # Its own queue name, so runs sharing a Redis never take each other's tasks.
        Q_CLUSTER_NAME=f"test-{uuid.uuid4().hex[:10]}",
        Q_TIMEOUT="60",
        SUBMIT_LEASE_SECONDS="20",
        STORE_LEASE_SECONDS="20",
        POLLER_LEASE_SECONDS="6",
        DOWNLOAD_DEADLINE_SECONDS="15",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PUBLIC_BASE_URL=settings.PUBLIC_BASE_URL,
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def pipeline_settings(settings, live_server, tmp_path, monkeypatch):
    """Settings shared by the test process and its worker: fast sandbox, private media, and a
    queue of its own (so a shared Redis never hands this test another test's tasks)."""
    from django_q.conf import Conf

    settings.AKOOL_SANDBOX_URL = f"{live_server.url}/sandbox/akool"
    settings.SANDBOX_QUEUE_SECONDS = 0.3
    settings.SANDBOX_GENERATION_SECONDS = 1.0
    settings.MEDIA_ROOT = tmp_path / "media"
    name = f"test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    # django-q2 signs queued tasks with the cluster name as salt: both sides must agree.
    monkeypatch.setattr(Conf, "PREFIX", name)
    return settings


@pytest.fixture
def pipeline_team(pipeline_settings):
    """A team on the live sandbox, with an owner to author its generations."""
    from generator.models import Role
    from tests.factories import make_team, make_user

    team = make_team("Studio", sandbox=True)
    make_user("maker@example.com", team, Role.OWNER)
    return team


@pytest.fixture
def start_worker(pipeline_settings, live_server):
    """Start workers with `start_worker(**env)`; all are stopped after the test."""
    workers = []

    def start(**extra):
        from django_q.conf import Conf

        env = worker_env(live_server, Q_CLUSTER_NAME=Conf.CLUSTER_NAME, **extra)
        worker = Worker(env).start()
        workers.append(worker)
        return worker

    yield start
    # Nothing in a test needs a graceful shutdown (the follower would hold it for seconds).
    for worker in workers:
        worker.kill()


def wait_for(predicate, timeout, interval=0.25, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
