"""Settings come from the environment; a malformed value fails at start-up, naming itself."""

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
