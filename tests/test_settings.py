"""Settings come from the environment; a malformed value fails at start-up, naming itself."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG", "PORT", "FIELD_ENCRYPTION_KEYS"):
        clean.pop(name, None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import akool_web.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults_run_on_a_laptop():
    result = import_settings()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "memcached://x"),
        ("ALLOW_SIGNUP", "sometimes"),
        ("Q_WORKERS", "0"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("TRUSTED_PROXIES", "127.0.0.1,nginx"),
    ],
)
def test_a_malformed_value_names_its_variable(name, value):
    result = import_settings(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert name in last_line


def test_production_needs_a_secret_key():
    result = import_settings(DEBUG="0", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]


# --- single sign-on ---------------------------------------------------------------------------

SSO = {
    "OIDC_ISSUER_URL": "https://id.example.com/realms/corp",
    "OIDC_CLIENT_ID": "akool-web",
    "OIDC_CLIENT_SECRET": "s3cret",
}


def run_python(code, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_single_sign_on_settings_configure_allauths_provider_with_pkce():
    code = "import json, akool_web.settings as s; print(json.dumps(s.SOCIALACCOUNT_PROVIDERS))"
    result = run_python(code, **SSO, OIDC_SCOPES="openid, email profile groups")
    assert result.returncode == 0, result.stderr
    (app,) = json.loads(result.stdout)["openid_connect"]["APPS"]
    assert app["provider_id"] == "oidc"
    assert app["settings"] == {
        "server_url": "https://id.example.com/realms/corp",
        "scope": ["openid", "email", "profile", "groups"],
        "oauth_pkce_enabled": True,
    }


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({**SSO, "OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set"),
        ({**SSO, "OIDC_SCOPES": "email profile"}, "OIDC_SCOPES must include openid"),
        ({**SSO, "OIDC_ISSUER_URL": "id.example.com"}, "OIDC_ISSUER_URL must be a URL"),
        ({"PASSWORD_SIGN_IN": "0"}, "PASSWORD_SIGN_IN=0 needs single sign-on"),
    ],
)
def test_a_broken_single_sign_on_setting_says_what_to_fix(env, says):
    result = import_settings(**env)
    assert result.returncode != 0
    assert says in result.stderr


def test_a_malformed_group_mapping_stops_the_app_at_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
            **SSO,
            "OIDC_GROUP_ROLES": "akool-design:design:member",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "OIDC_GROUP_ROLES: 'design' in 'akool-design:design:member' is not a team code" in (
        result.stderr
    )
