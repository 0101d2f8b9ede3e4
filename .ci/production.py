"""The production profile, run the way an operator runs it, then used the way a team uses it.

    .venv/bin/python .ci/production.py            # SQLite + ORM broker
    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python .ci/production.py

1. A fresh data folder; DEBUG off, a real SECRET_KEY and encryption key, webhooks on
   (PUBLIC_BASE_URL), the built-in sandbox standing in for Akool, 127.0.0.1 as the trusted proxy.
   migrate, createcachetable, collectstatic, ensure_demo, a second member of the demo team.
2. gunicorn with deploy/gunicorn.conf.py (two workers) and `manage.py qcluster`, each in its own
   process group.
3. Behind the proxy: failed sign-ins from one forwarded address lock that address out, never the
   next person's, who still signs in.
4. Chromium (Debian's), two people of the demo team side by side: the owner generates, the member
   sees it arrive and finish without reloading, opens it (the lightbox has its URL), finds U1-U4
   (webhook mode), presses U1, and the child reaches both screens; Back closes the lightbox.
   The studio at phone width does not scroll sideways. No console error or CSP violation anywhere.
5. The access log holds no webhook token. Then both processes are stopped.
Prints each phase's time; exits 1 naming the failed check, with the server's log.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
WAIT = 90  # seconds, generous for a loaded CI machine; the timings are printed, not judged
MEMBER = "member@example.com"
PROMPT = "Production check: a lighthouse at dusk"

started = time.monotonic()


def phase(name):
    print(f"[{time.monotonic() - started:6.1f} s] {name}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failed(what)


def main():
    work = Path(tempfile.mkdtemp(prefix="akool-production-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DEBUG": "0",
        "DATA_DIR": str(work),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": base,
        "TRUSTED_PROXIES": "127.0.0.1",
        "AKOOL_SANDBOX": "1",
        "PORT": str(port),
        # Plain HTTP on loopback: a TLS-terminating proxy is not part of this check.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_SSL_REDIRECT": "0",
        "DEMO_PASSWORD": password,
        "Q_CLUSTER_NAME": f"production-check-{port}",
        "Q_WORKERS": "2",
        "WEB_CONCURRENCY": "2",
    }
    log_path = work / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 (the processes write to it until the end)
    processes = []

    def manage(*args):
        subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=log, stderr=log
        )

    try:
        phase("set-up: migrate, cache table, static files, demo account")
        manage("migrate", "--noinput")
        manage("createcachetable")
        manage("collectstatic", "--noinput")
        manage("ensure_demo")
        manage(
            "shell",
            "-c",
            "from generator.models import Membership, Role, Team, User;"
            "team = Team.objects.get(name='Demo team');"
            f"user = User.objects.create_user({MEMBER!r}, {password!r}, name='Mia Member');"
            "Membership.objects.create(team=team, user=user, role=Role.MEMBER);"
            "user.current_team = team; user.save()",
        )

        phase("start gunicorn and qcluster")
        for command in (
            [PY, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            [PY, "manage.py", "qcluster"],
        ):
            processes.append(
                subprocess.Popen(  # noqa: S603 (our own interpreter and gunicorn)
                    command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
                )
            )
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if requests.get(f"{base}/login/", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            check(time.monotonic() < deadline, "the login page never answered")
            check(all(p.poll() is None for p in processes), "a process exited at start")
            time.sleep(0.3)

        phase("behind the proxy: one address locked out, the next person signs in")
        proxy_check(base, password)

        phase("two people of one team in Chromium")
        browser_check(base, password)

        phase("the access log holds no webhook token")
        token = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [
                PY,
                "manage.py",
                "shell",
                "-c",
                "from generator.models import Team;"
                "print(Team.objects.get(name='Demo team').webhook_token)",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log.flush()
        text = log_path.read_text()
        check("/hooks/akool/" in text, "no webhook reached the app (webhook mode was not in use)")
        check(token and token not in text, "a webhook token is in the access log")
        phase("passed")
        return 0
    except (Failed, subprocess.CalledProcessError) as error:
        log.flush()
        print(f"production check FAILED: {error}", file=sys.stderr)
        print("--- server log (last 150 lines):", file=sys.stderr)
        print("\n".join(log_path.read_text().splitlines()[-150:]), file=sys.stderr)
        return 1
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def sign_in(session, base, email, password, address):
    page = session.get(f"{base}/login/", headers={"X-Forwarded-For": address}, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}/login/",
        data={"csrfmiddlewaretoken": csrf, "username": email, "password": password},
        headers={"X-Forwarded-For": address, "Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=30,
    )


def proxy_check(base, password):
    # Fresh documentation addresses each run: a shared cache (Redis) remembers earlier runs.
    attacker = f"203.0.113.{secrets.randbelow(254) + 1}"
    colleague = f"198.51.100.{secrets.randbelow(254) + 1}"
    session = requests.Session()
    refused = None
    for attempt in range(1, 41):
        email = f"nobody-{secrets.token_hex(4)}@example.com"
        answer = sign_in(session, base, email, "wrong", attacker)
        if answer.status_code != 200 or "Too many" in answer.text or "try again in" in answer.text:
            refused = attempt
            break
    check(refused is not None, "forty failed sign-ins from one address were never throttled")
    answer = sign_in(requests.Session(), base, "demo@example.com", password, colleague)
    check(
        answer.status_code == 302 and "/login/" not in answer.headers.get("Location", ""),
        f"a colleague behind the same proxy could not sign in (status {answer.status_code})",
    )
    print(f"    address throttled after {refused} failures; the colleague signed in")


def browser_check(base, password):
    from playwright.sync_api import expect, sync_playwright

    problems = []

    def watch(page, who):
        page.on("console", lambda m: m.type == "error" and problems.append(f"{who}: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{who}: {e}"))

    def open_as(browser, email, viewport):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        watch(page, email)
        page.goto(f"{base}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#generate-form")).to_be_visible()
        return page

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            desk = {"width": 1280, "height": 900}
            owner = open_as(browser, "demo@example.com", desk)
            member = open_as(browser, MEMBER, desk)
            owner.get_by_label("Prompt", exact=True).fill(PROMPT)
            owner.locator("label", has_text="1080p").first.click()
            owner.get_by_role("button", name="Generate").click()

            batch = member.locator("section.batch", has_text=PROMPT)
            expect(batch.locator(".job-card")).not_to_have_count(0, timeout=WAIT * 1000)
            first = batch.locator(".job-card.is-done").first
            expect(first).to_be_visible(timeout=WAIT * 1000)
            studio_url = member.url
            first.locator("a.tile").click()
            expect(member.locator("#lightbox")).to_be_visible()
            check("/images/" in urlsplit(member.url).path, "the lightbox has no URL of its own")
            upscale = member.locator("#lightbox button[name='button'][value='U1']")
            expect(upscale).to_be_visible(timeout=WAIT * 1000)
            children_before = owner.locator(".job-card").count()
            upscale.click()
            expect(owner.locator(".job-card")).to_have_count(
                children_before + 1, timeout=WAIT * 1000
            )
            member.go_back()
            expect(member.locator("#lightbox")).to_be_hidden()
            check(member.url == studio_url, "Back did not return to the studio's own URL")
            expect(member.locator("section.batch", has_text="Upscale 1")).not_to_have_count(
                0, timeout=WAIT * 1000
            )
            print("    generated, seen live by a teammate, U1 pressed, child on both screens")

            phone = open_as(browser, MEMBER, {"width": 390, "height": 844})
            wide = phone.evaluate(
                "document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"
            )
            check(not wide, "the studio scrolls sideways at 390 px")
        finally:
            browser.close()
    check(not problems, "console errors: " + "; ".join(problems[:5]))


if __name__ == "__main__":
    sys.exit(main())
