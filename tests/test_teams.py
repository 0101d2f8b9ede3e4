"""Teams: creating, switching, the settings page, roles, removal, transfer and deletion."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from generator.models import Backend, Membership, Role, Team
from tests.factories import make_membership, make_user


def role_of(user, team):
    return Membership.objects.get(user=user, team=team).role


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- list, create, switch, home --------------------------------------------------------------


def test_new_team_makes_its_creator_owner_on_the_built_in_emulator(owner_client, owner, settings):
    settings.AKOOL_SANDBOX = True
    response = owner_client.post(reverse("team_create"), {"name": "  Marketing  "})
    team = Team.objects.get(name="Marketing")
    assert response.status_code == 302
    assert response.url == reverse("studio", args=[team.code])
    assert role_of(owner, team) == Role.OWNER
    assert team.backend == Backend.SANDBOX and team.has_credentials
    owner.refresh_from_db()
    assert owner.current_team == team


def test_without_the_emulator_a_new_team_waits_for_a_key(owner_client, settings):
    settings.AKOOL_SANDBOX = False
    response = owner_client.post(reverse("team_create"), {"name": "Sales"})
    team = Team.objects.get(name="Sales")
    assert team.backend == Backend.AKOOL and not team.has_credentials
    assert response.url == reverse("team_settings", args=[team.code]) + "#connection"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_bad_team_name_shows_a_field_error(owner_client, name):
    response = owner_client.post(reverse("team_create"), {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert b'class="errorlist"' in response.content
    assert not Team.objects.filter(name=name.strip()).exclude(name="Team A").exists()


def test_the_team_list_shows_only_my_teams(owner_client, outsider):
    response = owner_client.get(reverse("team_list"))
    assert b"Team A" in response.content
    assert b"Team B" not in response.content


def test_the_header_switcher_lists_only_my_teams(owner_client, team_a, outsider):
    response = owner_client.get(reverse("studio", args=[team_a.code]))
    assert response.context["my_teams"] == [team_a]
    assert response.context["current_team"] == team_a
    assert b'name="team"' in response.content


def test_switching_team_changes_the_current_team(owner_client, owner, team_b):
    make_membership(team_b, owner, Role.VIEWER)
    response = owner_client.post(reverse("team_switch"), {"team": str(team_b.code)})
    assert response.url == reverse("studio", args=[team_b.code])
    owner.refresh_from_db()
    assert owner.current_team == team_b
    assert owner_client.get(reverse("home")).url == reverse("studio", args=[team_b.code])


def test_home_without_a_team_goes_to_the_team_list(client, db):
    user = make_user("lonely@example.com")
    client.force_login(user)
    assert client.get(reverse("home")).url == reverse("team_list")


def test_home_ignores_a_current_team_i_left(client, team_a, team_b):
    user = make_user("mover@example.com", team_a)
    make_membership(team_b, user)
    Membership.objects.filter(user=user, team=team_a).delete()
    client.force_login(user)
    assert client.get(reverse("home")).url == reverse("studio", args=[team_b.code])


def test_viewers_see_the_studio_but_no_settings_link(viewer_client, team_a):
    response = viewer_client.get(reverse("studio", args=[team_a.code]))
    assert response.status_code == 200
    assert reverse("team_settings", args=[team_a.code]).encode() not in response.content


# --- settings page ---------------------------------------------------------------------------


def test_the_settings_page_lists_members_with_roles(owner_client, team_a, member, viewer):
    response = owner_client.get(reverse("team_settings", args=[team_a.code]))
    content = response.content.decode()
    for email in ("owner@a.example", "member@a.example", "viewer@a.example"):
        assert email in content
    assert "Delete this team" in content
    assert "Transfer ownership" in content


def test_admins_do_not_see_owner_only_sections(team_admin_client, team_a, owner):
    response = team_admin_client.get(reverse("team_settings", args=[team_a.code]))
    assert b"Delete this team" not in response.content
    assert b'value="owner"' not in response.content


def test_renaming_a_team(team_admin_client, team_a):
    url = reverse("team_details", args=[team_a.code])
    response = team_admin_client.post(url, {"name": "Team Alpha", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    team_a.refresh_from_db()
    assert (team_a.name, team_a.time_zone) == ("Team Alpha", "Europe/Paris")


def test_a_bad_time_zone_is_a_field_error(owner_client, team_a):
    url = reverse("team_details", args=[team_a.code])
    response = owner_client.post(url, {"name": "Renamed", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["details_form"].errors["time_zone"]
    team_a.refresh_from_db()
    assert team_a.name == "Team A"
    assert b"<h1>Team settings</h1>" in response.content


# --- roles -----------------------------------------------------------------------------------


def change_role(client, team, user, role):
    return client.post(
        reverse("member_role", args=[team.code]), {"member": user.email, "role": role}
    )


def test_owner_promotes_a_member_to_admin(owner_client, team_a, member):
    response = change_role(owner_client, team_a, member, Role.ADMIN)
    assert response.status_code == 302
    assert role_of(member, team_a) == Role.ADMIN
    assert "Mia Member is now admin." in flashes(response)


def test_admin_changes_a_member_to_viewer(team_admin_client, team_a, member):
    change_role(team_admin_client, team_a, member, Role.VIEWER)
    assert role_of(member, team_a) == Role.VIEWER


def test_admin_cannot_grant_owner(team_admin_client, team_a, member):
    response = change_role(team_admin_client, team_a, member, Role.OWNER)
    assert role_of(member, team_a) == Role.MEMBER
    assert any("Only an owner" in m for m in flashes(response))


def test_admin_cannot_demote_an_owner(team_admin_client, team_a, owner, member):
    Membership.objects.filter(user=member).update(role=Role.OWNER)  # two owners
    change_role(team_admin_client, team_a, owner, Role.MEMBER)
    assert role_of(owner, team_a) == Role.OWNER


def test_the_last_owner_cannot_demote_themselves(owner_client, team_a, owner):
    response = change_role(owner_client, team_a, owner, Role.ADMIN)
    assert role_of(owner, team_a) == Role.OWNER
    assert any("at least one owner" in m for m in flashes(response))


def test_an_owner_can_step_down_when_another_owner_exists(owner_client, team_a, owner, member):
    change_role(owner_client, team_a, member, Role.OWNER)
    response = change_role(owner_client, team_a, owner, Role.ADMIN)
    assert role_of(owner, team_a) == Role.ADMIN
    assert response.url == reverse("team_settings", args=[team_a.code]) + "#members"


def test_an_admin_who_demotes_themselves_lands_in_the_studio(team_admin_client, team_a, team_admin):
    response = change_role(team_admin_client, team_a, team_admin, Role.MEMBER)
    assert role_of(team_admin, team_a) == Role.MEMBER
    assert response.url == reverse("studio", args=[team_a.code])


def test_a_role_change_for_someone_outside_the_team_is_refused(owner_client, team_a, outsider):
    response = change_role(owner_client, team_a, outsider, Role.VIEWER)
    assert response.status_code == 302
    assert any("not in the team" in m for m in flashes(response))
    assert role_of(outsider, outsider.current_team) == Role.OWNER


def test_a_made_up_role_is_refused(owner_client, team_a, member):
    change_role(owner_client, team_a, member, "emperor")
    assert role_of(member, team_a) == Role.MEMBER


# --- removing and leaving --------------------------------------------------------------------


def remove(client, team, user):
    return client.post(reverse("member_remove", args=[team.code]), {"member": user.email})


def test_admin_removes_a_member_and_their_current_team_is_cleared(
    team_admin_client, team_a, member
):
    response = remove(team_admin_client, team_a, member)
    assert not Membership.objects.filter(user=member, team=team_a).exists()
    member.refresh_from_db()
    assert member.current_team is None
    assert "Removed Mia Member from Team A." in flashes(response)


def test_admin_cannot_remove_an_owner(team_admin_client, team_a, owner):
    remove(team_admin_client, team_a, owner)
    assert Membership.objects.filter(user=owner, team=team_a).exists()


def test_the_last_owner_cannot_remove_themselves(owner_client, team_a, owner):
    remove(owner_client, team_a, owner)
    assert Membership.objects.filter(user=owner, team=team_a).exists()


def test_a_member_can_leave(member_client, team_a, member):
    response = member_client.post(reverse("team_leave", args=[team_a.code]))
    assert response.url == reverse("home")
    assert not Membership.objects.filter(user=member, team=team_a).exists()


def test_the_last_owner_cannot_leave(owner_client, team_a, owner):
    response = owner_client.post(reverse("team_leave", args=[team_a.code]))
    assert Membership.objects.filter(user=owner, team=team_a).exists()
    assert any("at least one owner" in m for m in flashes(response))


# --- transfer and delete ---------------------------------------------------------------------


def test_transferring_ownership_makes_the_old_owner_admin(owner_client, team_a, owner, member):
    url = reverse("team_transfer", args=[team_a.code])
    response = owner_client.post(url, {"new_owner": member.email})
    assert response.status_code == 302
    assert role_of(member, team_a) == Role.OWNER
    assert role_of(owner, team_a) == Role.ADMIN


def test_transfer_to_an_outsider_is_a_field_error(owner_client, team_a, owner, outsider):
    url = reverse("team_transfer", args=[team_a.code])
    response = owner_client.post(url, {"new_owner": outsider.email})
    assert response.status_code == 200
    assert response.context["transfer_form"].errors["new_owner"]
    assert role_of(owner, team_a) == Role.OWNER


def test_deleting_needs_the_exact_team_name(owner_client, team_a):
    url = reverse("team_delete", args=[team_a.code])
    response = owner_client.post(url, {"confirm": "team a"})
    assert response.status_code == 200
    assert "exactly" in response.context["delete_form"].errors["confirm"][0]
    assert Team.objects.filter(pk=team_a.pk).exists()


def test_the_owner_deletes_the_team(owner_client, owner, team_a, member):
    response = owner_client.post(reverse("team_delete", args=[team_a.code]), {"confirm": "Team A"})
    assert response.url == reverse("home")
    assert not Team.objects.filter(pk=team_a.pk).exists()
    member.refresh_from_db()
    assert member.current_team is None
    assert owner_client.get(reverse("home")).url == reverse("team_list")
