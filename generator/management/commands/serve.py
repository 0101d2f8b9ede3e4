"""`make run`: the web server and the background worker together, stopped together."""

import io
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and the django-q2 worker on 127.0.0.1; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo account.")

    def handle(self, *args, port, no_demo, **options):
        demo = io.StringIO()
        if not no_demo:
            call_command("ensure_demo", stdout=demo)
        manage = [sys.executable, "manage.py"]
        # Our own interpreter and manage.py, with fixed arguments: nothing untrusted.
        web = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"])  # noqa: S603
        worker = subprocess.Popen([*manage, "qcluster"])  # noqa: S603
        children = (web, worker)

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        url = f"http://127.0.0.1:{port}/"
        try:
            self._wait_until_up(url, web)
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"akool-web is running at {url}"))
            if demo.getvalue():
                self.stdout.write(demo.getvalue().strip())
            self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A process stopped unexpectedly; stopping the other one.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()

    def _wait_until_up(self, url, web):
        for _ in range(120):
            if web.poll() is not None:
                raise SystemExit("The web server did not start (is the port already in use?)")
            try:
                urllib.request.urlopen(url + "login/", timeout=1)  # noqa: S310 - loopback only
                return
            except OSError:
                time.sleep(0.25)
