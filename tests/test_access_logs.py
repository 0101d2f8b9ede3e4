"""Secret URL tokens stay out of the logs: gunicorn's access log with the shipped config, the
app's own loggers, and nginx's log format (which spells the same paths)."""

import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from generator import source_links
from generator.lib.log_filters import QUERY_PATHS, TOKEN_PATHS, RedactTokens, redact
from generator.models import Invitation, Role
from tests.factories import make_team, make_user
from tests.fixtures_pipeline import database_env

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8800, 8850)


def free_port():
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8800-8849")


def wait_until_listening(port, proc, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The app under gunicorn with deploy/gunicorn.conf.py, on the test database."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = database_env()
    env.update(
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="1",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
            + ["--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(port, proc, log)
        yield f"http://127.0.0.1:{port}", proc, log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def secret_urls():
    """Real links of every kind that carries a secret, and the secrets in them."""
    team = make_team("Logged")
    owner = make_user("logged@example.com", team, Role.OWNER)
    invitation = Invitation.objects.create(team=team, email="new@example.com", invited_by=owner)
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    reset_token = default_token_generator.make_token(owner)
    source_token = signing.dumps(f"u:{invitation.code}", salt=source_links.SALT)
    invite = reverse("invite", args=[invitation.code])
    urls = {
        "webhook": reverse("akool_webhook", args=[team.webhook_token]),
        "source": reverse("source_image", args=[source_token]),
        "invitation": invite,
        "reset": reverse("password_reset_confirm", args=[uid, reset_token]),
        "sign-in coming back to the invitation": f"{reverse('login')}?next={invite}",
    }
    secrets = [team.webhook_token, source_token, str(invitation.code), reset_token]
    return urls, secrets


def test_gunicorn_with_the_shipped_config_logs_no_token(gunicorn):
    base, proc, log = gunicorn
    urls, secrets = secret_urls()
    session = requests.Session()
    session.trust_env = False
    for name, url in urls.items():
        method = session.post if name == "webhook" else session.get
        response = method(
            base + url, headers={"Referer": base + urls["invitation"]}, allow_redirects=False
        )
        assert response.status_code < 500, (name, response.status_code)
    proc.terminate()
    proc.wait(timeout=30)

    text = log.read_text(errors="replace")
    access = [line for line in text.splitlines() if '"GET ' in line or '"POST ' in line]
    assert len(access) >= len(urls), text
    for secret in secrets:
        assert secret not in text
    for shown in (
        "POST /hooks/akool/***/",
        "GET /source/***/",
        "GET /invite/***/",
        "GET /password/reset/***/***/",
        "GET /login/?next=/invite/***/",
    ):
        assert shown in text, shown
    assert f'"{base}/invite/***/"' in text  # the Referer


def test_the_apps_loggers_redact_invitation_and_reset_links(caplog):
    logger = logging.getLogger("generator.test")
    logger.addFilter(RedactTokens())
    try:
        with caplog.at_level(logging.INFO):
            logger.info("opened %s", "/invite/3f2b1c4e-9a7d-4c55-8d0e-1f2a3b4c5d6e/")
            logger.info("opened /password/reset/MQ/cz7k9x-0a1b2c3d4e5f6a7b8c9d/")
    finally:
        logger.filters.clear()
    assert caplog.messages == ["opened /invite/***/", "opened /password/reset/***/***/"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/password/reset/sent/", "/password/reset/sent/"),
        ("/password/reset/MQ/set-password/", "/password/reset/***/***/"),
        ("/login/?next=%2Finvite%2Fabc-123%2F", "/login/?next=%2Finvite%2F***%2F"),
        ("/t/4b7c/invitations/", "/t/4b7c/invitations/"),
        ("Not Found: /source/eyJ:1t:ab", "Not Found: /source/***"),
        (
            '"GET /sso/oidc/login/callback/?code=Zx9&state=q1 HTTP/1.1" 302',
            '"GET /sso/oidc/login/callback/?*** HTTP/1.1" 302',
        ),
        ("/sso/oidc/login/callback/ 401", "/sso/oidc/login/callback/ 401"),
    ],
)
def test_redaction_keeps_everything_but_the_secret(line, expected):
    assert redact(line) == expected


def test_django_request_and_server_logs_are_redacted():
    for name in ("django.request", "django.server"):
        assert "redact" in settings.LOGGING["loggers"][name].get("filters", []), name


def test_nginx_logs_through_maps_that_cover_every_secret_path():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    maps = "\n".join(re.findall(r"map \$(?:request_uri|http_referer) .*?\n\}", conf, re.S))
    assert maps.count("map ") == 2
    for prefix, _segments in TOKEN_PATHS:
        assert prefix.replace("/", "(?:/|%2[Ff])") in maps, prefix
    for path in QUERY_PATHS:
        assert maps.count(f"/{path}/\\?") == 2, path
    assert re.search(r"access_log \S+ akool_web_redacted;", conf)
    log_format = re.search(r"log_format akool_web_redacted (.*?);", conf, re.S).group(1)
    assert "$request_uri" not in log_format and "$http_referer" not in log_format
    assert "$request " not in log_format and '$request"' not in log_format
