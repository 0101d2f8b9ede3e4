"""Start the test identity provider in a subprocess and point the app at it."""

import json
import os
import secrets
import select
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent.parent
START_SECONDS = 60

# Its people: a designer whose address the provider has verified, an admin of the design
# team, and someone whose address it has not verified.
PASSWORD = "idp-password-for-tests"
PEOPLE = {
    "dana": {
        "email": "dana@corp.example",
        "email_verified": True,
        "name": "Dana Designer",
        "groups": ["akool-design", "everyone"],
    },
    "ada": {
        "email": "ada@corp.example",
        "email_verified": True,
        "name": "Ada Admin",
        "groups": ["akool-design", "akool-design-admins"],
    },
    "uma": {
        "email": "uma@corp.example",
        "email_verified": False,
        "name": "Uma Unverified",
        "groups": ["akool-design"],
    },
}


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    private_key_pem: str

    def configure(self, settings, discovery=None, **overrides):
        """Point the app (through pytest-django's `settings`) at this provider; `discovery`
        overrides entries of the provider's discovery document as the app reads it."""
        settings.OIDC_ENABLED = True
        settings.OIDC_ISSUER_URL = self.issuer
        settings.OIDC_DISPLAY_NAME = overrides.pop("name", "Test IdP")
        for name, value in overrides.items():
            setattr(settings, name, value)
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "APPS": [
                    {
                        "provider_id": settings.OIDC_PROVIDER_ID,
                        "name": settings.OIDC_DISPLAY_NAME,
                        "client_id": self.client_id,
                        "secret": self.client_secret,
                        "settings": {
                            "server_url": self.issuer,
                            "scope": ["openid", "email", "profile"],
                            "oauth_pkce_enabled": True,
                            "openid_configuration_overrides": discovery or {},
                        },
                    }
                ]
            }
        }


def _private_key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@contextmanager
def running_provider(folder, redirect_uri):
    """The provider, serving on a free loopback port until the block ends."""
    config = {
        "database": str(folder / "idp.sqlite3"),
        "private_key": _private_key_pem(),
        "client_id": "akool-web-" + secrets.token_hex(4),
        "client_secret": secrets.token_urlsafe(32),
        "redirect_uri": redirect_uri,
        "people": {name: {**person, "password": PASSWORD} for name, person in PEOPLE.items()},
    }
    config_file = folder / "idp.json"
    config_file.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", str(config_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        issuer = _wait_until_ready(process)
        yield Provider(issuer, config["client_id"], config["client_secret"], config["private_key"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("READY "):
                return line.split()[1]
            if not line:
                break
    process.kill()
    raise RuntimeError(f"the test identity provider did not start:\n{process.stderr.read()}")
