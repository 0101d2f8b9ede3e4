"""`make run`: prepare the database, then run the web server and the worker, stopped together.

This command is the only one watching the two processes. Each runs in its own process group, so
Ctrl-C or SIGTERM reaches this command alone: it asks both to stop, and whatever is still
running shortly after (a worker busy with a long task, the worker's own child processes) is
killed as a group, so nothing is left behind. A worker that dies is restarted (the web server
alone would leave jobs stuck without saying so); a web server that dies stops everything.
"""

import contextlib
import errno
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

HOST = "127.0.0.1"
# After asking the children to stop, how long they get before they are killed.
STOP_GRACE_SECONDS = 2.0
# A dead worker is restarted at most this many times within the window; the next death stops all.
WORKER_RESTARTS = 3
WORKER_RESTART_WINDOW_SECONDS = 60
STARTUP_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Migrate, create the demo account, then run the web server and the django-q2 worker "
        "on 127.0.0.1; Ctrl-C stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo account.")

    def handle(self, *args, port, no_demo, **options):
        url = f"http://{HOST}:{port}/"
        # First, so a second `make run` fails at once instead of after the migrations.
        self._check_port_free(port)
        demo = io.StringIO()
        try:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            call_command("createcachetable", verbosity=0)
            if not no_demo:
                call_command("ensure_demo", stdout=demo)
        except KeyboardInterrupt:
            raise CommandError("Interrupted before anything was started.") from None

        self.stop_signal = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._request_stop)
        self.web = self.worker = None
        self.worker_deaths = []
        try:
            # Again just before runserver binds, to keep the window in which another program
            # could take the port (and answer for us) as short as possible.
            self._check_port_free(port)
            self.web = self._start("runserver", f"{HOST}:{port}", "--noreload")
            self.worker = self._start("qcluster")
            if not self._wait_until_up(url):
                return
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"akool-web is running at {url}"))
            if demo.getvalue():
                self.stdout.write(demo.getvalue().strip())
            self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")
            self._watch()
        finally:
            self._stop_all()

    # --- ports and processes -------------------------------------------------------------------

    def _check_port_free(self, port):
        """Bind the port the way runserver will; an HTTP probe could find someone else's server."""
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # runserver sets SO_REUSEADDR too: a port in TIME_WAIT after a restart is free for it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise CommandError(f"Cannot listen on {HOST}:{port} ({exc.strerror}).") from None
            raise CommandError(
                f"Port {port} on {HOST} is already in use (by another akool-web, or another "
                f"server). Stop it, or choose another port, e.g. PORT={port + 1} make run"
            ) from None
        finally:
            probe.close()

    def _start(self, *command):
        # Our own interpreter and manage.py with fixed arguments: nothing untrusted. Its own
        # process group (see the module docstring); no stdin, which a background group may not
        # read.
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", *command],
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            process_group=0,
        )

    def _request_stop(self, signum, frame):
        self.stop_signal = signum

    def _wait_until_up(self, url):
        """True once the web server answers; False if asked to stop first."""
        # Loopback only, and never through an HTTP proxy set in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + STARTUP_SECONDS
        while self.stop_signal is None:
            if self.web.poll() is not None:
                raise CommandError(
                    f"The web server did not start (exit code {self.web.returncode}); "
                    "its output is above."
                )
            try:
                opener.open(url + "login/", timeout=2)
            except urllib.error.HTTPError:
                pass  # it answered: up, even if that page fails (its error is in the log)
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"The web server did not answer at {url} within {STARTUP_SECONDS} s."
                    ) from None
                time.sleep(0.2)
                continue
            # Answered. Only ours can hold the port while it is still alive (it has bound it).
            if self.web.poll() is None:
                return True
        return False

    def _watch(self):
        while True:
            time.sleep(0.2)
            if self.stop_signal is not None:
                self.stdout.write("\nStopping the web server and the worker…")
                return
            web_exit, worker_exit = self.web.poll(), self.worker.poll()
            if web_exit is None and worker_exit is None:
                continue
            # A child stopped on its own. If a stop signal is on its way to us too, let it land
            # first: that is a normal stop, not a crash.
            time.sleep(0.3)
            if self.stop_signal is not None:
                continue
            if web_exit is not None:
                raise CommandError(
                    f"The web server stopped unexpectedly (exit code {web_exit}); stopping the "
                    "worker too. Its output is above."
                )
            self._restart_worker(worker_exit)

    def _restart_worker(self, exit_code):
        self._kill_group(self.worker)  # its own children, if it died without stopping them
        now = time.monotonic()
        self.worker_deaths = [
            t for t in self.worker_deaths if now - t < WORKER_RESTART_WINDOW_SECONDS
        ] + [now]
        if len(self.worker_deaths) > WORKER_RESTARTS:
            raise CommandError(
                f"The worker stopped unexpectedly {len(self.worker_deaths)} times within "
                f"{WORKER_RESTART_WINDOW_SECONDS} s (last exit code {exit_code}); stopping the "
                "web server too. Its output is above."
            )
        self.stderr.write(
            f"The worker stopped unexpectedly (exit code {exit_code}); restarting it."
        )
        self.worker = self._start("qcluster")

    def _stop_all(self):
        children = [c for c in (self.web, self.worker) if c is not None]
        for child in children:
            if child.poll() is None:
                self._signal_group(child, signal.SIGINT)  # both stop cleanly on SIGINT
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in children:
            self._kill_group(child)

    def _kill_group(self, child):
        """SIGKILL what is left of a child's process group, then reap the child."""
        self._signal_group(child, signal.SIGKILL)
        child.wait()

    @staticmethod
    def _signal_group(child, signum):
        with contextlib.suppress(ProcessLookupError):  # the whole group has already exited
            os.killpg(child.pid, signum)
