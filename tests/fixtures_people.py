"""The base people every access test needs: team A with an owner, a member and a viewer, and
an outsider who owns team B, made with tests/factories.py. Import into conftest with
`from tests.fixtures_people import *`.
"""

import os

import pytest
from django.conf import settings
from django.test import Client

from generator.models import Role
from tests.factories import make_team, make_user

# A fixed Fernet key for test runs that have none: pytest-django turns DEBUG off, and without
# DEBUG the app refuses to invent a key.
TEST_ENCRYPTION_KEY = "dGVzdC1vbmx5LWtleS1ub3Qtc2VjcmV0LTAwMDAwMDA="

__all__ = [
    "TEST_ENCRYPTION_KEY",
    "field_encryption_keys",
    "fast_password_hasher",
    "team_a",
    "team_b",
    "owner",
    "team_admin",
    "member",
    "viewer",
    "outsider",
    "owner_client",
    "team_admin_client",
    "member_client",
    "viewer_client",
    "outsider_client",
]


@pytest.fixture(scope="session", autouse=True)
def field_encryption_keys():
    """Give the run an encryption key, in settings and in the environment (so a worker
    subprocess decrypts what the test process encrypted)."""
    if settings.FIELD_ENCRYPTION_KEYS:
        yield list(settings.FIELD_ENCRYPTION_KEYS)
        return
    settings.FIELD_ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]
    os.environ["FIELD_ENCRYPTION_KEYS"] = TEST_ENCRYPTION_KEY
    yield [TEST_ENCRYPTION_KEY]
    settings.FIELD_ENCRYPTION_KEYS = []
    os.environ.pop("FIELD_ENCRYPTION_KEYS", None)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """Tests sign in thousands of times; the production hasher is slow on purpose."""
    previous = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    settings.PASSWORD_HASHERS = previous


@pytest.fixture
def team_a(db):
    return make_team("Team A")


@pytest.fixture
def team_b(db):
    return make_team("Team B")


@pytest.fixture
def owner(team_a):
    return make_user("owner@a.example", team_a, Role.OWNER, name="Olivia Owner")


@pytest.fixture
def team_admin(team_a):
    return make_user("admin@a.example", team_a, Role.ADMIN, name="Adam Admin")


@pytest.fixture
def member(team_a):
    return make_user("member@a.example", team_a, Role.MEMBER, name="Mia Member")


@pytest.fixture
def viewer(team_a):
    return make_user("viewer@a.example", team_a, Role.VIEWER, name="Vic Viewer")


@pytest.fixture
def outsider(team_b):
    return make_user("outsider@b.example", team_b, Role.OWNER, name="Otto Outsider")


def _logged_in(user):
    # A client of its own, so one test can act as several people at once.
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _logged_in(owner)


@pytest.fixture
def team_admin_client(team_admin):
    return _logged_in(team_admin)


@pytest.fixture
def member_client(member):
    return _logged_in(member)


@pytest.fixture
def viewer_client(viewer):
    return _logged_in(viewer)


@pytest.fixture
def outsider_client(outsider):
    return _logged_in(outsider)
