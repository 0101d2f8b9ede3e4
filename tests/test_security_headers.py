"""Security headers on pages, templates that a strict CSP does not break, and `check --deploy`."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from generator.middleware import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def assert_secure_headers(response):
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_login_page_carries_strict_headers(client, db):
    assert_secure_headers(client.get(reverse("login")))


def test_studio_page_carries_strict_headers(owner_client, team_a):
    assert_secure_headers(owner_client.get(reverse("studio", args=[team_a.code])))


def test_team_settings_page_carries_strict_headers(owner_client, team_a):
    assert_secure_headers(owner_client.get(reverse("team_settings", args=[team_a.code])))


def test_admin_login_and_changelist_render_under_the_policy(client, owner):
    assert_secure_headers(client.get("/admin/login/"))
    owner.is_staff = owner.is_superuser = True
    owner.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(owner)
    response = client.get(reverse("admin:generator_team_changelist"))
    assert_secure_headers(response)
    # The admin's own scripts are static files; an inline one would be blocked by the policy.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", response.content.decode())


def test_json_responses_get_no_html_policy(client, db):
    response = client.get(reverse("healthz"))
    assert "Content-Security-Policy" not in response


def template_files():
    return sorted(p for p in TEMPLATES.rglob("*.html"))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*[^<\s]", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
TEMPLATE_COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def test_templates_were_found():
    assert len(template_files()) >= 10


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_nothing_inline_that_the_policy_blocks(path):
    # Template comments never reach the browser (and may mention what they avoid).
    text = TEMPLATE_COMMENTS.sub("", path.read_text())
    assert not INLINE_SCRIPT.search(text), "inline <script> with content"
    assert not STYLE_ATTR.search(text), "style= attribute"
    assert not STYLE_ELEMENT.search(text), "<style> element"
    assert not HANDLER_ATTR.search(text), "on*= event handler attribute"


def test_deploy_check_passes_with_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DJANGO_"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="studio.example.com",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="akool_web.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
