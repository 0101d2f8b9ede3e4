"""The audit log: one entry per audited action, never a secret, never changed, shown to admins."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import serializers
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from generator import audit
from generator.models import (
    AppendOnly,
    AuditAction,
    AuditEntry,
    Backend,
    Invitation,
    Job,
    Membership,
    Role,
    State,
    Team,
)
from tests.factories import make_generation, make_job, make_membership, make_team, make_user
from tests.instants import SOME, at

API_KEY = "Zq8vKc3Lr7Tw1Hn5Bx9Md2Fs6Gp4Jy0A"
NEW_KEY = "Nw5tKey9Lr7Tw1Hn5Bx9Md2Fs6Gp4QQQ"
CLIENT_ID = "AKc2xV9bQ7tL3mN8pR1sW4y="


@pytest.fixture
def keyed_team(team_a):
    team_a.backend = Backend.AKOOL
    team_a.set_credentials(API_KEY, CLIENT_ID)
    team_a.save()
    return team_a


def everything_logged():
    """Every audit entry, serialised whole: what a leak would show up in."""
    return serializers.serialize("json", AuditEntry.objects.all())


def assert_no_secrets(*more):
    text = everything_logged()
    for secret in (API_KEY, NEW_KEY, CLIENT_ID):
        assert secret not in text
        # Not even the part the masked key shows.
        assert secret[-4:] not in text
    for secret in more:
        assert secret not in text


def only_entry(action):
    """The one entry of the whole log, which must be for `action`."""
    entries = list(AuditEntry.objects.all())
    assert [e.action for e in entries] == [action]
    return entries[0]


# --- one entry per action --------------------------------------------------------------------


def test_adding_a_key(owner_client, owner, team_a):
    owner_client.post(
        reverse("credentials_save", args=[team_a.code]),
        {"backend": Backend.AKOOL, "api_key": API_KEY, "client_id": CLIENT_ID},
    )
    entry = only_entry(AuditAction.KEY_ADDED)
    assert entry.actor == owner and entry.actor_email == owner.email
    assert entry.team == team_a and entry.team_name == "Team A"
    assert entry.details == {"backend": "akool", "sign_in": "API key header"}
    assert_no_secrets()


def test_replacing_a_key(owner_client, keyed_team):
    owner_client.post(
        reverse("credentials_save", args=[keyed_team.code]),
        {
            "backend": Backend.AKOOL,
            "api_key": NEW_KEY,
            "client_id": CLIENT_ID,
            "use_token_auth": "on",
        },
    )
    entry = only_entry(AuditAction.KEY_REPLACED)
    assert entry.details["sign_in"] == "bearer token"
    assert_no_secrets()


def test_switching_to_the_sandbox_replaces_the_key(owner_client, keyed_team, settings):
    settings.AKOOL_SANDBOX = True
    owner_client.post(
        reverse("credentials_save", args=[keyed_team.code]), {"backend": Backend.SANDBOX}
    )
    only_entry(AuditAction.KEY_REPLACED)
    keyed_team.refresh_from_db()
    assert_no_secrets(keyed_team.api_key, keyed_team.client_id)


def test_removing_a_key(team_admin_client, team_admin, keyed_team):
    team_admin_client.post(reverse("credentials_remove", args=[keyed_team.code]))
    assert only_entry(AuditAction.KEY_REMOVED).actor == team_admin
    assert_no_secrets()


def test_a_rejected_key_writes_nothing(owner_client, team_a):
    owner_client.post(
        reverse("credentials_save", args=[team_a.code]),
        {"backend": Backend.AKOOL, "api_key": "has spaces in it", "client_id": ""},
    )
    assert not AuditEntry.objects.exists()


def test_inviting(owner_client, team_a):
    owner_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": "new@example.com", "role": "member"},
    )
    entry = only_entry(AuditAction.MEMBER_INVITED)
    assert entry.target == "new@example.com" and entry.details == {"role": "member"}
    # The invitation link is a bearer secret too.
    invitation = Invitation.objects.get()
    assert str(invitation.code) not in everything_logged()


def test_joining_by_signing_up(client, team_a, owner):
    invitation = Invitation.objects.create(
        team=team_a, email="newbie@example.com", role=Role.VIEWER, invited_by=owner
    )
    password = "a-long-and-unusual-passphrase-42"
    client.post(
        reverse("invite", args=[invitation.code]),
        {"name": "Nina", "password1": password, "password2": password},
    )
    entry = only_entry(AuditAction.MEMBER_JOINED)
    assert entry.actor_email == "newbie@example.com"
    assert entry.details == {"role": "viewer", "invited_by": owner.email}
    assert password not in everything_logged()
    assert str(invitation.code) not in everything_logged()


def test_joining_while_signed_in(outsider_client, outsider, team_a, owner):
    invitation = Invitation.objects.create(team=team_a, email=outsider.email, invited_by=owner)
    outsider_client.post(reverse("invite", args=[invitation.code]))
    assert only_entry(AuditAction.MEMBER_JOINED).actor == outsider


def test_a_used_link_writes_nothing_more(outsider_client, outsider, team_a, owner):
    invitation = Invitation.objects.create(team=team_a, email=outsider.email, invited_by=owner)
    outsider_client.post(reverse("invite", args=[invitation.code]))
    outsider_client.post(reverse("invite", args=[invitation.code]))
    assert AuditEntry.objects.count() == 1


def test_removing_a_member(owner_client, owner, member, team_a):
    owner_client.post(reverse("member_remove", args=[team_a.code]), {"member": member.email})
    entry = only_entry(AuditAction.MEMBER_REMOVED)
    assert entry.target == member.email
    assert entry.details == {"role": "member", "left": False}


def test_leaving(member_client, member, team_a):
    member_client.post(reverse("team_leave", args=[team_a.code]))
    entry = only_entry(AuditAction.MEMBER_REMOVED)
    assert entry.actor == member and entry.details["left"] is True


def test_a_refused_removal_writes_nothing(team_admin_client, owner, team_a):
    team_admin_client.post(reverse("member_remove", args=[team_a.code]), {"member": owner.email})
    assert Membership.objects.filter(user=owner).exists()
    assert not AuditEntry.objects.exists()


def test_changing_a_role(owner_client, member, team_a):
    owner_client.post(
        reverse("member_role", args=[team_a.code]), {"member": member.email, "role": "admin"}
    )
    entry = only_entry(AuditAction.ROLE_CHANGED)
    assert entry.target == member.email
    assert entry.details == {"old": "member", "new": "admin"}


def test_saving_the_same_role_again_is_not_a_change(owner_client, member, team_a):
    owner_client.post(
        reverse("member_role", args=[team_a.code]), {"member": member.email, "role": "member"}
    )
    assert not AuditEntry.objects.exists()


def test_changing_the_budget(team_admin_client, team_a):
    team_admin_client.post(
        reverse("team_budget", args=[team_a.code]),
        {
            "monthly_budget": "250",
            "min_role_4k": "admin",
            "min_role_batch": "member",
            "min_role_i2i": "member",
        },
    )
    entry = only_entry(AuditAction.BUDGET_CHANGED)
    assert entry.details == {"monthly_budget": [None, 250], "min_role_4k": ["member", "admin"]}


def test_changing_a_member_cap(owner_client, member, team_a):
    owner_client.post(
        reverse("member_cap", args=[team_a.code]), {"member": member.email, "monthly_cap": "12"}
    )
    entry = only_entry(AuditAction.BUDGET_CHANGED)
    assert entry.target == member.email and entry.details == {"monthly_cap": [None, 12]}


def test_deleting_an_image(member_client, member, team_a):
    generation = make_generation(team_a, member, "a red kite")
    job = make_job(generation=generation, state=State.DONE)
    member_client.post(reverse("image_delete", args=[team_a.code, job.code]))
    assert not Job.objects.kept().filter(pk=job.pk).exists()
    entry = only_entry(AuditAction.IMAGE_DELETED)
    assert entry.target == f"image {job.code}"
    assert entry.details == {"prompt": "a red kite", "author": member.email, "trash_days": 30}


def test_a_pending_image_is_not_deleted_and_not_logged(member_client, member, team_a):
    job = make_job(generation=make_generation(team_a, member, "a red kite"))
    member_client.post(reverse("image_delete", args=[team_a.code, job.code]))
    assert Job.objects.filter(pk=job.pk).exists()
    assert not AuditEntry.objects.exists()


def test_transferring_the_team(owner_client, member, team_a):
    owner_client.post(reverse("team_transfer", args=[team_a.code]), {"new_owner": member.email})
    entry = only_entry(AuditAction.TEAM_TRANSFERRED)
    assert entry.target == member.email


def test_deleting_the_team_keeps_its_entries_with_the_name(owner_client, owner, keyed_team):
    audit.record(owner, keyed_team, AuditAction.KEY_REMOVED)
    owner_client.post(reverse("team_delete", args=[keyed_team.code]), {"confirm": "Team A"})
    assert not Team.objects.filter(pk=keyed_team.pk).exists()
    entries = AuditEntry.objects.order_by("id")
    assert [e.action for e in entries] == [AuditAction.KEY_REMOVED, AuditAction.TEAM_DELETED]
    assert all(e.team is None and e.team_name == "Team A" for e in entries)
    assert_no_secrets()


def test_entries_outlive_their_actor(owner, member, team_a):
    entry = audit.record(member, team_a, AuditAction.ROLE_CHANGED, target="x")
    get_user_model().objects.filter(pk=member.pk).delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor is None and entry.actor_email == member.email


# --- append-only -----------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted(owner, team_a):
    entry = audit.record(owner, team_a, AuditAction.ROLE_CHANGED, target="x")
    entry.target = "y"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(target="y")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).target == "x"


def test_record_refuses_secret_looking_details(owner, team_a):
    for name in ("api_key", "client_id", "token", "password", "secret"):
        with pytest.raises(audit.SecretInDetails):
            audit.record(owner, team_a, AuditAction.KEY_ADDED, **{name: "x"})
    assert not AuditEntry.objects.exists()


def test_the_admin_can_read_but_not_add_change_or_delete(admin_client, owner, team_a):
    entry = audit.record(owner, team_a, AuditAction.ROLE_CHANGED, target="someone")
    base = "admin:generator_auditentry"
    assert admin_client.get(reverse(f"{base}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{base}_add")).status_code == 403
    assert admin_client.get(reverse(f"{base}_delete", args=[entry.pk])).status_code == 403
    change = admin_client.get(reverse(f"{base}_change", args=[entry.pk]))
    assert change.status_code == 200
    assert b'name="target"' not in change.content  # shown, not editable
    admin_client.post(reverse(f"{base}_change", args=[entry.pk]), {"target": "edited"})
    assert AuditEntry.objects.get(pk=entry.pk).target == "someone"


# --- the page --------------------------------------------------------------------------------


def audit_url(team, **query):
    from urllib.parse import urlencode

    url = reverse("audit_log", args=[team.code])
    return f"{url}?{urlencode(query)}" if query else url


def test_admins_see_their_team_entries_only(team_admin_client, owner, team_a, team_b, outsider):
    audit.record(owner, team_a, AuditAction.ROLE_CHANGED, target="mine@a.example", old="member")
    audit.record(outsider, team_b, AuditAction.ROLE_CHANGED, target="theirs@b.example")
    text = team_admin_client.get(audit_url(team_a)).content.decode()
    assert "mine@a.example" in text and "Role changed" in text and owner.email in text
    assert "theirs@b.example" not in text


def test_members_cannot_see_the_log(member_client, viewer_client, team_a):
    assert member_client.get(audit_url(team_a)).status_code == 403
    assert viewer_client.get(audit_url(team_a)).status_code == 403


def test_the_settings_page_links_to_the_log(owner_client, team_a):
    assert (
        audit_url(team_a).encode()
        in owner_client.get(reverse("team_settings", args=[team_a.code])).content
    )


def test_filters_by_action_actor_and_dates(instant, owner_client, owner, member, team_a):
    # `instant`: a frozen clock, so "today" is one day from the first request to the last.
    old = audit.record(owner, team_a, AuditAction.KEY_ADDED, target="old-one")
    # The log refuses updates, so the entry is back-dated in SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET created_at = %s WHERE id = %s",
            [timezone.now() - timedelta(days=40), old.pk],
        )
    audit.record(owner, team_a, AuditAction.ROLE_CHANGED, target="by-owner")
    audit.record(member, team_a, AuditAction.IMAGE_DELETED, target="by-member")

    def targets(**query):
        text = owner_client.get(audit_url(team_a, **query)).content.decode()
        return {t for t in ("old-one", "by-owner", "by-member") if t in text}

    assert targets() == {"old-one", "by-owner", "by-member"}
    assert targets(action="image_deleted") == {"by-member"}
    assert targets(actor="member@") == {"by-member"}
    today = timezone.localdate()
    assert targets(since=(today - timedelta(days=1)).isoformat()) == {"by-owner", "by-member"}
    assert targets(until=(today - timedelta(days=30)).isoformat()) == {"old-one"}


@at(*SOME)
def test_dates_are_the_teams_calendar_days(instant, owner_client, owner, team_a):
    team_a.time_zone = instant.zone
    team_a.save()
    audit.record(owner, team_a, AuditAction.KEY_ADDED, target="made-now")
    day = instant.local_date

    def shown(**query):
        return "made-now" in owner_client.get(audit_url(team_a, **query)).content.decode()

    assert shown(since=day.isoformat(), until=day.isoformat())
    assert not shown(until=(day - timedelta(days=1)).isoformat())
    assert not shown(since=(day + timedelta(days=1)).isoformat())
    text = owner_client.get(audit_url(team_a)).content.decode()
    assert f"{instant.wall.day} {instant.wall:%b %Y %H:%M:%S}" in text


def test_bad_filters_are_field_errors_not_crashes(owner_client, owner, team_a):
    audit.record(owner, team_a, AuditAction.KEY_ADDED, target="something")
    response = owner_client.get(audit_url(team_a, since="2026-05-02", until="2026-05-01"))
    assert response.status_code == 200
    assert "“Until” must be on or after “From”." in response.content.decode()
    response = owner_client.get(audit_url(team_a, action="nonsense", since="yesterday"))
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content


@pytest.mark.parametrize(
    "query",
    [
        {"until": "9999-12-31"},
        {"since": "9999-12-31"},
        {"since": "0001-01-01"},
        {"since": "0001-01-01", "until": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_dates_at_the_ends_of_the_calendar_are_field_errors(
    owner_client, owner, team_a, query, zone
):
    team_a.time_zone = zone
    team_a.save()
    audit.record(owner, team_a, AuditAction.KEY_ADDED, target="something")
    response = owner_client.get(audit_url(team_a, **query))
    assert response.status_code == 200
    assert "Pick a day between" in response.content.decode()


def test_the_log_is_paged(owner_client, owner, team_a):
    AuditEntry.objects.bulk_create(
        AuditEntry(
            team=team_a,
            team_name=team_a.name,
            actor=owner,
            actor_email=owner.email,
            action=AuditAction.ROLE_CHANGED,
            target=f"person-{i:03d}",
        )
        for i in range(60)
    )
    first = owner_client.get(audit_url(team_a)).content.decode()
    second = owner_client.get(audit_url(team_a, page=2)).content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    shown = {f"person-{i:03d}" for i in range(60)}
    assert len({t for t in shown if t in first}) == 50
    assert len({t for t in shown if t in second}) == 10


def test_no_page_shows_a_secret(owner_client, keyed_team, owner):
    owner_client.post(
        reverse("credentials_save", args=[keyed_team.code]),
        {"backend": Backend.AKOOL, "api_key": NEW_KEY, "client_id": CLIENT_ID},
    )
    owner_client.post(reverse("credentials_remove", args=[keyed_team.code]))
    text = owner_client.get(audit_url(keyed_team)).content.decode()
    assert "API key replaced" in text and "API key removed" in text
    for secret in (API_KEY, NEW_KEY, CLIENT_ID):
        assert secret not in text


def test_a_second_team_of_the_same_person_has_its_own_log(owner_client, owner, team_a):
    other = make_team("Other")
    make_user("x@other.example", other, Role.MEMBER)
    make_membership(other, owner, Role.OWNER)
    audit.record(owner, other, AuditAction.MEMBER_INVITED, target="only-in-other")
    assert b"only-in-other" not in owner_client.get(audit_url(team_a)).content
    assert b"only-in-other" in owner_client.get(audit_url(other)).content
