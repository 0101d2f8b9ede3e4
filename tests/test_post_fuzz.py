"""Random data posted to every endpoint of the app, as every kind of caller.

The endpoints come from the URL conf, so a new one is covered the day it is added (and must say
here who may change data through it). For each, Hypothesis draws form data (field names the
app's forms use, values from plain junk to ids and emails that exist, huge numbers, far dates,
files) and posts it as the owner, an admin, a member, a viewer, an outsider and an anonymous
visitor. No answer may be a server error, and a caller below the endpoint's role must leave
every row count of the main models as it was.

Each post runs in a savepoint that is rolled back, so one example's changes (a member leaving,
a team deleted) never shape the next.
"""

import io
import uuid

import pytest
from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms import BaseForm
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from generator import account_forms, notification_forms, prompt_forms, share_forms, token_forms
from generator import forms as app_forms
from generator.models import (
    ApiToken,
    AuditEntry,
    Board,
    BoardImage,
    Channel,
    ChannelKind,
    Delivery,
    Favourite,
    Generation,
    Invitation,
    Job,
    JobTag,
    Membership,
    Mode,
    PromptPreset,
    Resolution,
    Role,
    Scale,
    ShareLink,
    Tag,
    Team,
    User,
)
from tests.factories import make_image, on_sandbox

pytestmark = pytest.mark.django_db

CALLERS = ("owner", "admin", "member", "viewer", "outsider", "anonymous")
RANK = {"anonymous": 0, "outsider": 1, "viewer": 2, "member": 3, "admin": 4, "owner": 5}
ANYONE, SIGNED_IN, NOBODY = "anonymous", "outsider", None

# The lowest caller who may change row counts through each endpoint that takes a POST; NOBODY
# for endpoints whose random input must never change any (a signature, a current password or
# a reset token is needed). The team is team A and the image is the owner's.
MAY_CHANGE = {
    "login": NOBODY,
    "logout": NOBODY,
    "password_change": NOBODY,
    "password_reset": NOBODY,
    "password_reset_confirm": NOBODY,
    "signup": ANYONE,
    "invite": ANYONE,  # the link is the permission: whoever holds it may join
    "team_create": SIGNED_IN,
    "team_switch": NOBODY,
    "team_leave": "viewer",
    "team_details": "admin",
    "member_role": "admin",
    "member_remove": "admin",
    "team_transfer": "owner",
    "team_delete": "owner",
    "team_budget": "admin",
    "member_cap": "admin",
    "invitation_create": "admin",
    "invitation_revoke": "admin",
    "credentials_save": "admin",
    "credentials_remove": "admin",
    "credentials_test": "admin",
    "studio_generate": "member",
    "image_star": "viewer",
    "image_delete": "admin",
    "image_dismiss": "admin",
    "image_retry": "member",
    "image_button": "member",
    "share_create": "member",
    "share_edit": "member",
    "share_revoke": "member",
    "share_settings": "admin",
    "share_page": NOBODY,  # a password unlocks a cookie, never a row
    "image_tags": "member",
    "studio_bulk": "viewer",  # stars are personal; the other actions need a member
    "board_create": "member",
    "board_edit": "member",
    "board_delete": "member",
    "studio_zip": NOBODY,  # a download: it changes nothing
    "studio_compare_selection": NOBODY,  # an address to look at: it changes nothing
    "image_boards": "member",
    "my_data_export": NOBODY,  # a download too
    "team_retention": "admin",
    "trash_restore": "admin",  # like deleting: one's own as a member, anyone's as an admin
    "trash_empty": "admin",
    "studio_fill": NOBODY,  # fills the form in; nothing is saved
    "preset_create": "member",
    # The preset is the owner's: only its author or an admin may change it.
    "preset_edit": "admin",
    "preset_delete": "admin",
    "blocked_phrases": "admin",
    "moderation_test": NOBODY,  # a check that writes nothing
    "account": SIGNED_IN,  # one's own preferences
    "channel_create": "admin",
    "channel_detail": "admin",
    "channel_delete": "admin",
    "channel_test": "admin",
    "akool_webhook": NOBODY,
    "account_tokens": SIGNED_IN,  # a person's own token, in a team of theirs
    "account_token_revoke": SIGNED_IN,
    "team_tokens": "admin",
    "team_token_revoke": "admin",
    # The API takes a bearer token, never the session: no caller here can change anything.
    "api-1:generations": NOBODY,
    "api-1:button": NOBODY,
    "api-1:openapi-json": NOBODY,
    "api-1:openapi-view": NOBODY,
    "api-1:api-root": NOBODY,
    # Single sign-on: only the identity provider's signed answer makes or links an account.
    "openid_connect_login": NOBODY,
    "openid_connect_callback": NOBODY,
}
COUNTED = (
    ApiToken,
    User,
    Team,
    Membership,
    Invitation,
    Generation,
    Job,
    Favourite,
    AuditEntry,
    ShareLink,
    Board,
    BoardImage,
    Tag,
    JobTag,
    PromptPreset,
    Channel,
    Delivery,
)
EXAMPLES_PER_ENDPOINT = 4


def _app_urls():
    """{name: its URL parameters} for every named URL of the app: not Django's admin, not the
    Akool emulator (tested on its own, and not part of the product)."""

    def walk(patterns, prefix="", params=(), namespace=""):
        for pattern in patterns:
            here = (*params, *pattern.pattern.converters)
            if isinstance(pattern, URLResolver):
                inner = f"{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), here, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield prefix + str(pattern.pattern), namespace + pattern.name, here

    return {
        name: params
        for route, name, params in walk(get_resolver().url_patterns)
        if not route.startswith(("admin/", "sandbox/"))
    }


APP_URLS = _app_urls()


def _form_fields():
    """{field name: [form fields of that name]} over the app's forms (and Django's auth forms
    it uses), so values can be drawn by kind: emails, numbers, dates, choices."""
    found = {}
    for module in (
        app_forms,
        account_forms,
        share_forms,
        prompt_forms,
        token_forms,
        notification_forms,
        auth_forms,
    ):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseForm):
                for name, field in getattr(value, "base_fields", {}).items():
                    found.setdefault(name, []).append(field)
    return found


# Read by views directly, or added to forms per request (no base field to learn them from).
EXTRA_FIELDS = {
    "member": "email",
    "button": "text",
    "place": "text",
    "next": "text",
    "filters": "text",
    "team": "uuid",
    "action": "text",
    "codes": "uuid",
    "all": "text",
    "board": "uuid",
    "tag": "text",
    "add": "text",
    "remove": "text",
    "boards": "uuid",
    "shown": "uuid",
    "description": "text",
    "preset": "uuid",
    "var_subject": "text",
}


def _png(size=(48, 32)):
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


# Values with a meaning somewhere in the app; the people's emails and the team's and image's
# codes are added per run (they are made fresh for each test).
MEANINGFUL = [
    *Role.values,
    *Mode.values,
    *Scale.values,
    *Resolution.values,
    "U1",
    "V4",
    "star",
    "tag",
    "board",
    "delete",
    "card",
    "detail",
    "sandbox",
    "akool",
    "UTC",
    "Mars/Olympus_Mons",
    "on",
    "1",
    "0",
    "-1",
    "",
    str(10**20),
    str(2**63),
    "1e309",
    "nan",
    "9999-12-31",
    "0001-01-01",
    "2026-02-29",
    "https://images.example.com/a.png",
    "http://127.0.0.1\\@example.com/",
    "http://[::1]/",
    "/t/../admin/",
    "Team A",
    "correct-horse-battery-staple",
    "\x00",
    "x" * 3000,
]
FILES = [_png(), b"", b"\x89PNG\r\n\x1a\n", b"<html><script>alert(1)</script></html>"]


class World:
    def __init__(self, team, users, job, invitation, board):
        self.team, self.users, self.job, self.invitation = team, users, job, invitation
        self.board = board

    def url(self, name):
        values = {
            "team_code": self.team.code,
            "job_code": self.job.code,
            "code": self.invitation.code,
            "link_code": self.link.code,
            "number": 1,
            "board_code": self.board.code,
            "preset_code": self.preset.code,
            "channel_code": self.channel.code,
            "kind": "original",
            "button": "U1",
            "token": self.team.webhook_token,
            "uidb64": "MQ",
            "provider_id": "oidc",
        }
        missing = set(APP_URLS[name]) - set(values)
        assert not missing, f"the fuzz test has no value for {missing} of {name}; add one"
        return reverse(name, kwargs={param: values[param] for param in APP_URLS[name]})

    def emails(self):
        return [user.email for user in self.users.values() if user] + [self.invitation.email]

    def codes(self):
        return [
            str(self.team.code),
            str(self.job.code),
            str(self.invitation.code),
            str(self.link.code),
            str(self.board.code),
            str(self.preset.code),
            str(self.channel.code),
        ]

    def meaningful(self):
        return MEANINGFUL + self.emails() + self.codes() + [str(uuid.uuid4())]


@pytest.fixture
def world(settings, tmp_path, team_a, team_b, owner, team_admin, member, viewer, outsider):
    settings.MEDIA_ROOT = tmp_path / "media"
    # "Test the key" calls the sandbox: a closed port answers at once, and nothing else does.
    settings.AKOOL_SANDBOX_URL = "http://127.0.0.1:9/sandbox/akool"
    on_sandbox(team_a)  # a key, so generate, retry and buttons get past "no key"
    job = make_image(team_a, owner, files=True, buttons=("U1", "V1"))
    invitation = Invitation.objects.create(team=team_a, email="new@a.example", invited_by=owner)
    users = {
        "owner": owner,
        "admin": team_admin,
        "member": member,
        "viewer": viewer,
        "outsider": outsider,
        "anonymous": None,
    }
    board = Board.objects.create(team=team_a, name="Picks", created_by=owner)
    board.add_jobs([job], owner)
    world = World(team_a, users, job, invitation, board)
    world.link, _ = ShareLink.create(team_a, owner, [job])
    world.preset = PromptPreset.objects.create(
        team=team_a, created_by=owner, name="Kite", prompt="a {subject} kite"
    )
    world.channel = Channel.objects.create(
        team=team_a, name="Ops", kind=ChannelKind.EMAIL, target="ops@a.example"
    )
    return world


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


def post_as(world, caller, url, data):
    client = Client()
    if world.users[caller]:
        client.force_login(world.users[caller])
    payload = {
        key: SimpleUploadedFile("upload.png", value, content_type="image/png")
        if isinstance(value, bytes)
        else [SimpleUploadedFile("upload.png", v) if isinstance(v, bytes) else v for v in value]
        if isinstance(value, list)
        else value
        for key, value in data.items()
    }
    return client.post(url, payload)


def form_data(world):
    """Each field the app knows may be present; its value is junk, or of its kind."""
    meaningful = st.sampled_from(world.meaningful())
    junk = st.one_of(st.text(max_size=40), meaningful)
    kinds = {
        "email": st.one_of(st.sampled_from(world.emails()), st.emails().map(str)),
        "number": st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.sampled_from(["1e309", "nan", "-0", "3.5"]),
        ),
        "date": st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["31.12."])),
        "uuid": st.sampled_from(world.codes()),
        "file": st.one_of(st.sampled_from(FILES), st.binary(max_size=64)),
        "text": junk,
    }

    def kind_of(field):
        if isinstance(field, (forms.EmailField, forms.ModelChoiceField)):
            return kinds["email"]
        if isinstance(field, (forms.IntegerField, forms.FloatField)):
            return kinds["number"]
        if isinstance(field, forms.DateField):
            return kinds["date"]
        if isinstance(field, forms.FileField):
            return kinds["file"]
        if isinstance(field, forms.ChoiceField):
            return st.sampled_from([str(value) for value, _ in field.choices] or [""])
        return junk

    optional = {
        name: st.one_of(junk, *(kind_of(field) for field in fields))
        for name, fields in _form_fields().items()
    }
    optional.update({name: st.one_of(junk, kinds[kind]) for name, kind in EXTRA_FIELDS.items()})
    # Now and then a field sent twice.
    optional = {
        name: st.one_of(value, st.lists(value, min_size=2, max_size=2))
        if name != "source_file"
        else value
        for name, value in optional.items()
    }
    return st.fixed_dictionaries({}, optional=optional)


@pytest.mark.parametrize("name", sorted(APP_URLS))
def test_random_posts_never_fail_and_change_nothing_without_the_right(name, world):
    url = world.url(name)
    with transaction.atomic():
        if post_as(world, "owner", url, {}).status_code == 405:
            # GET only: refused (405, or the login redirect first), changing nothing.
            before = counts()
            for caller in CALLERS:
                assert post_as(world, caller, url, {}).status_code in (302, 404, 405), caller
            assert counts() == before
            transaction.set_rollback(True)
            return
        transaction.set_rollback(True)
    assert name in MAY_CHANGE, f"{name} takes a POST: say in MAY_CHANGE who may change data"
    lowest = MAY_CHANGE[name]

    @hsettings(
        max_examples=EXAMPLES_PER_ENDPOINT,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=form_data(world))
    def check(data):
        for caller in CALLERS:
            with transaction.atomic():
                before = counts()
                response = post_as(world, caller, url, data)
                assert response.status_code < 500, (caller, response.status_code)
                if lowest is None or RANK[caller] < RANK[lowest]:
                    assert counts() == before, caller
                transaction.set_rollback(True)

    check()
