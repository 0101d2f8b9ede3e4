"""Invitations: created by admins, mailed, single-use, expiring, revocable, clear when dead."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from generator.models import Invitation, Membership, Role, User
from tests.factories import PASSWORD, make_user
from tests.instants import SOME, at, named

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


@pytest.fixture
def invitation(team_a, owner):
    return Invitation.objects.create(
        team=team_a, email="newbie@example.com", role=Role.MEMBER, invited_by=owner
    )


def invite_url(invitation):
    return reverse("invite", args=[invitation.code])


def signup_data(**extra):
    return {"name": "Nina Newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **extra}


# --- creating --------------------------------------------------------------------------------


def test_admin_invites_by_email_and_the_mail_holds_the_link(team_admin_client, team_a):
    response = team_admin_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": "Friend@Example.com", "role": Role.VIEWER},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(team=team_a)
    assert (invitation.email, invitation.role) == ("friend@example.com", Role.VIEWER)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["friend@example.com"]
    assert "Team A" in message.subject
    assert f"http://testserver{invite_url(invitation)}" in message.body

    page = team_admin_client.get(reverse("team_settings", args=[team_a.code]))
    assert f"http://testserver{invite_url(invitation)}".encode() in page.content


def test_inviting_a_member_again_is_a_field_error(owner_client, team_a, member):
    response = owner_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": "MEMBER@a.example", "role": Role.MEMBER},
    )
    assert response.status_code == 200
    assert "already in the team" in response.context["invite_form"].errors["email"][0]
    assert not Invitation.objects.exists()


def test_a_bad_email_is_a_field_error(owner_client, team_a):
    response = owner_client.post(
        reverse("invitation_create", args=[team_a.code]), {"email": "nope", "role": "member"}
    )
    assert response.context["invite_form"].errors["email"]
    assert b'aria-invalid="true"' in response.content


def test_admins_cannot_invite_owners(team_admin_client, team_a):
    response = team_admin_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": "boss@example.com", "role": Role.OWNER},
    )
    assert response.context["invite_form"].errors["role"]
    assert not Invitation.objects.exists()


def test_inviting_again_replaces_the_pending_invitation(owner_client, team_a, invitation):
    owner_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": invitation.email, "role": Role.ADMIN},
    )
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert Invitation.objects.get(team=team_a).role == Role.ADMIN


def test_a_mail_failure_still_leaves_a_copyable_link(owner_client, team_a, monkeypatch):
    def broken_send_mail(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("generator.views.teams.send_mail", broken_send_mail)
    response = owner_client.post(
        reverse("invitation_create", args=[team_a.code]),
        {"email": "x@example.com", "role": Role.MEMBER},
        follow=True,
    )
    assert response.status_code == 200
    assert b"could not be sent" in response.content
    assert Invitation.objects.filter(email="x@example.com").exists()


def test_revoking_kills_the_link(owner_client, client, team_a, invitation):
    owner_client.post(reverse("invitation_revoke", args=[team_a.code, invitation.code]))
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    response = client.get(invite_url(invitation))
    assert response.status_code == 200
    assert b"does not work" in response.content


# --- accepting as a new person ---------------------------------------------------------------


def test_anonymous_visitor_sees_a_signup_form_with_the_invited_email(client, invitation):
    response = client.get(invite_url(invitation))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Join Team A" in content
    assert 'value="newbie@example.com" readonly' in content
    assert 'name="password1"' in content


def test_signing_up_from_an_invitation_joins_the_team_and_logs_in(client, invitation, team_a):
    response = client.post(invite_url(invitation), signup_data(email="evil@example.com"))
    assert response.status_code == 302
    assert response.url == reverse("studio", args=[team_a.code])
    user = User.objects.get(email="newbie@example.com")  # the posted email is ignored
    assert user.name == "Nina Newbie"
    assert Membership.objects.get(user=user, team=team_a).role == Role.MEMBER
    assert get_user(client) == user
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert not User.objects.filter(email="evil@example.com").exists()


def test_signup_errors_are_shown_per_field_and_nothing_is_used(client, invitation):
    response = client.post(invite_url(invitation), signup_data(password2="different"))
    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    assert b'class="errorlist"' in response.content
    assert not User.objects.filter(email=invitation.email).exists()
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_a_weak_password_is_refused(client, invitation):
    response = client.post(invite_url(invitation), signup_data(password1="123", password2="123"))
    assert response.context["form"].errors["password2"]


def test_an_existing_account_is_asked_to_sign_in(client, invitation):
    make_user("newbie@example.com")
    response = client.get(invite_url(invitation))
    assert b"Sign in to accept" in response.content
    assert b'name="password1"' not in response.content


# --- accepting as someone signed in ----------------------------------------------------------


@pytest.fixture
def outsider_invitation(team_a, owner, outsider):
    return Invitation.objects.create(
        team=team_a, email="Outsider@B.example", role=Role.MEMBER, invited_by=owner
    )


def test_the_invited_person_signed_in_accepts_in_any_case_of_email(
    outsider_client, outsider, outsider_invitation
):
    page = outsider_client.get(invite_url(outsider_invitation))
    assert b"Accept and join" in page.content
    response = outsider_client.post(invite_url(outsider_invitation))
    assert response.url == reverse("studio", args=[outsider_invitation.team.code])
    assert Membership.objects.get(user=outsider, team=outsider_invitation.team).role == Role.MEMBER
    outsider.refresh_from_db()
    assert outsider.current_team == outsider_invitation.team


def test_someone_signed_in_with_another_email_is_refused_clearly(
    outsider_client, outsider, invitation
):
    page = outsider_client.get(invite_url(invitation))
    html = page.content.decode()
    assert page.status_code == 200
    assert "This invitation is for <strong>newbie@example.com</strong>" in html
    assert "signed in as <strong>outsider@b.example</strong>" in html
    assert "Only the invited address can accept it." in html
    assert "Accept and join" not in html
    response = outsider_client.post(invite_url(invitation))
    assert response.status_code == 403
    assert b"Only the invited address can accept it." in response.content
    assert not Membership.objects.filter(user=outsider, team=invitation.team).exists()
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_a_member_is_told_they_are_in_already_and_the_link_stays_unused(member_client, invitation):
    page = member_client.get(invite_url(invitation))
    assert b"already in this team" in page.content
    member_client.post(invite_url(invitation))
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_the_invited_role_is_granted(outsider_client, outsider, team_a, owner):
    invitation = Invitation.objects.create(team=team_a, email=outsider.email, role=Role.ADMIN)
    outsider_client.post(invite_url(invitation))
    assert Membership.objects.get(user=outsider, team=team_a).role == Role.ADMIN


# --- dead links ------------------------------------------------------------------------------


def test_a_link_works_once(client, outsider_client, invitation):
    client.post(invite_url(invitation), signup_data())
    response = outsider_client.get(invite_url(invitation))
    assert response.status_code == 200
    assert b"already been used" in response.content
    response = outsider_client.post(invite_url(invitation))
    assert b"already been used" in response.content
    assert not Membership.objects.filter(user__email="outsider@b.example", team=invitation.team)


def test_the_person_who_used_a_link_gets_a_way_in(outsider_client, outsider_invitation):
    outsider_client.post(invite_url(outsider_invitation))
    response = outsider_client.get(invite_url(outsider_invitation))
    assert b"You already joined Team A" in response.content


def test_an_expired_link_says_so(client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(invite_url(invitation))
    assert response.status_code == 200
    assert b"This invitation has expired" in response.content
    response = client.post(invite_url(invitation), signup_data())
    assert b"This invitation has expired" in response.content
    assert not User.objects.filter(email=invitation.email).exists()


# --- expiry, at named instants ---------------------------------------------------------------


@pytest.fixture
def zoned_team(instant, team_a):
    """Team A in the zone of the instant the clock is pinned at."""
    team_a.time_zone = instant.zone
    team_a.save()
    return team_a


def local_expiry(instant):
    """Seven days of real time after the instant, on the team's wall clock, as the pages say it."""
    local = (instant.utc + timedelta(days=7)).astimezone(ZoneInfo(instant.zone))
    return f"{local.day} {local:%B %Y} at {local:%H:%M} ({instant.zone} time)"


@at(*SOME)
def test_invitations_expire_seven_days_of_real_time_after_they_are_made(
    instant, zoned_team, invitation
):
    assert invitation.created_at == timezone.now()
    # Seven times 24 hours, even across a clock change (the wall clock then says an hour more
    # or less).
    assert invitation.expires_at - invitation.created_at == timedelta(hours=7 * 24)
    assert Invitation.objects.usable().filter(pk=invitation.pk).exists()


@at(*SOME)
def test_a_link_works_until_it_expires_and_then_says_when_it_ran_out(
    instant, time_machine, zoned_team, invitation, client
):
    time_machine.move_to(instant.utc + timedelta(days=7, seconds=-1), tick=False)
    assert invitation.is_usable
    response = client.get(invite_url(invitation))
    assert b"Join Team A" in response.content
    time_machine.move_to(instant.utc + timedelta(days=7), tick=False)
    assert not invitation.is_usable
    assert not Invitation.objects.usable().filter(pk=invitation.pk).exists()
    text = client.get(invite_url(invitation)).content.decode()
    assert "This invitation has expired" in text
    assert f"ran out on {local_expiry(instant)}." in text
    response = client.post(invite_url(invitation), signup_data())
    assert b"This invitation has expired" in response.content
    assert not User.objects.filter(email=invitation.email).exists()


@at(*SOME)
def test_the_mail_names_the_expiry_on_the_teams_clock(instant, zoned_team, owner_client):
    owner_client.post(
        reverse("invitation_create", args=[zoned_team.code]),
        {"email": "friend@example.com", "role": Role.MEMBER},
    )
    assert f"expires on {local_expiry(instant)}." in mail.outbox[0].body


@at(*named("pago-pago-last-hour-of-march"))
def test_a_link_made_late_on_31_march_in_pago_pago_expires_on_7_april_there(
    instant, zoned_team, owner_client
):
    # In UTC it is already 1 April, and the link runs out on 8 April by UTC's calendar.
    owner_client.post(
        reverse("invitation_create", args=[zoned_team.code]),
        {"email": "friend@example.com", "role": Role.MEMBER},
    )
    body = mail.outbox[0].body
    assert "expires on 7 April 2027 at 23:30 (Pacific/Pago_Pago time)." in body


def test_an_unknown_link_is_a_clear_page(client, db):
    response = client.get("/invite/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 200
    assert b"does not work" in response.content


def test_logging_in_from_an_invitation_comes_back_to_it(client, invitation):
    make_user("newbie@example.com")
    response = client.post(
        reverse("login") + f"?next={invite_url(invitation)}",
        {"username": "newbie@example.com", "password": PASSWORD, "next": invite_url(invitation)},
    )
    assert response.url == invite_url(invitation)
