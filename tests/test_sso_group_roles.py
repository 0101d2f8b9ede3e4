"""The identity provider's groups → team memberships: parsing the mapping, and applying it at
each sign-in (join, change role, leave; never the last owner), audited."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from generator.models import AuditAction, AuditEntry, Membership, Role
from generator.sso.groups import (
    GroupRole,
    apply_group_roles,
    desired_roles,
    groups_in,
    parse_group_roles,
)
from tests.factories import make_membership, make_user

TEAM = uuid.UUID("3f0c2a8e-0000-4000-8000-000000000001")
OTHER = uuid.UUID("3f0c2a8e-0000-4000-8000-000000000002")


def test_the_mapping_reads_group_team_and_role_and_groups_may_hold_colons():
    rows = parse_group_roles(f"akool-design:{TEAM}:member, cn=x:y:{OTHER}:admin ,")
    assert rows == [
        GroupRole("akool-design", TEAM, Role.MEMBER),
        GroupRole("cn=x:y", OTHER, Role.ADMIN),
    ]
    assert parse_group_roles("") == []


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("akool-design", "group:team-code:role"),
        (f":{TEAM}:member", "group:team-code:role"),
        ("akool-design:design:member", "is not a team code"),
        (f"akool-design:{TEAM}:boss", "must be one of owner, admin, member, viewer"),
    ],
)
def test_a_malformed_mapping_names_the_variable(raw, says):
    with pytest.raises(ImproperlyConfigured, match=says) as error:
        parse_group_roles(raw)
    assert "OIDC_GROUP_ROLES" in str(error.value)


def test_the_highest_role_any_group_gives_wins_and_unmatched_teams_get_none():
    mapping = parse_group_roles(
        f"design:{TEAM}:member,design-admins:{TEAM}:admin,viewers:{TEAM}:viewer,ops:{OTHER}:member"
    )
    assert desired_roles({"design", "design-admins", "viewers"}, mapping) == {
        TEAM: Role.ADMIN,
        OTHER: None,
    }
    assert desired_roles({"viewers"}, mapping) == {TEAM: Role.VIEWER, OTHER: None}


def test_the_groups_claim_may_be_a_list_or_a_single_string(settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    assert groups_in({"roles": ["a", "b", 3]}) == {"a", "b"}
    assert groups_in({"roles": "a"}) == {"a"}
    assert groups_in({"roles": []}) == set()
    assert groups_in({"groups": ["a"]}) is None


@pytest.fixture
def mapping(team_a):
    return parse_group_roles(f"design:{team_a.code}:member,design-admins:{team_a.code}:admin")


def _entries(team, action):
    return list(AuditEntry.objects.filter(team=team, action=action))


@pytest.mark.django_db
def test_a_first_sign_in_joins_the_mapped_team_lands_there_and_is_audited(team_a, mapping):
    user = make_user("new@corp.example")
    apply_group_roles(user, {"groups": ["design"]}, mapping)
    assert Membership.objects.get(team=team_a, user=user).role == Role.MEMBER
    user.refresh_from_db()
    assert user.current_team == team_a
    (entry,) = _entries(team_a, AuditAction.MEMBER_JOINED)
    assert (entry.actor, entry.target) == (user, "new@corp.example")
    assert entry.details == {"role": "member", "via": "identity provider"}


@pytest.mark.django_db
def test_a_later_sign_in_changes_the_role_then_removes_the_membership(team_a, mapping):
    user = make_user("dana@corp.example", team_a, Role.MEMBER)
    apply_group_roles(user, {"groups": ["design", "design-admins"]}, mapping)
    assert Membership.objects.get(team=team_a, user=user).role == Role.ADMIN
    (changed,) = _entries(team_a, AuditAction.ROLE_CHANGED)
    assert changed.details == {"old": "member", "new": "admin", "via": "identity provider"}

    apply_group_roles(user, {"groups": ["elsewhere"]}, mapping)
    assert not Membership.objects.filter(team=team_a, user=user).exists()
    (removed,) = _entries(team_a, AuditAction.MEMBER_REMOVED)
    assert removed.details == {"role": "admin", "via": "identity provider"}
    user.refresh_from_db()
    assert user.current_team is None


@pytest.mark.django_db
def test_an_unchanged_sign_in_changes_and_audits_nothing(team_a, mapping):
    user = make_user("dana@corp.example", team_a, Role.MEMBER)
    before = AuditEntry.objects.count()
    assert apply_group_roles(user, {"groups": ["design"]}, mapping) == []
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_the_last_owner_is_never_demoted_or_removed_but_one_of_two_is(team_a, mapping, owner):
    apply_group_roles(owner, {"groups": ["design"]}, mapping)
    apply_group_roles(owner, {"groups": []}, mapping)
    assert Membership.objects.get(team=team_a, user=owner).role == Role.OWNER

    second = make_user("second@a.example", team_a, Role.OWNER)
    apply_group_roles(second, {"groups": ["design"]}, mapping)
    assert Membership.objects.get(team=team_a, user=second).role == Role.MEMBER


@pytest.mark.django_db
def test_a_missing_groups_claim_changes_nothing_but_an_empty_one_removes(team_a, mapping, caplog):
    user = make_user("dana@corp.example", team_a, Role.MEMBER)
    assert apply_group_roles(user, {"email": user.email}, mapping) == []
    assert Membership.objects.filter(team=team_a, user=user).exists()
    assert "sent no 'groups' claim for dana@corp.example" in caplog.text
    apply_group_roles(user, {"groups": []}, mapping)
    assert not Membership.objects.filter(team=team_a, user=user).exists()


@pytest.mark.django_db
def test_teams_the_mapping_does_not_name_are_left_alone(team_a, team_b, mapping):
    user = make_user("dana@corp.example", team_b, Role.ADMIN)
    make_membership(team_a, user, Role.MEMBER)
    apply_group_roles(user, {"groups": []}, mapping)
    assert set(user.memberships.values_list("team__name", "role")) == {("Team B", Role.ADMIN)}


@pytest.mark.django_db
def test_a_mapped_team_that_does_not_exist_is_skipped(team_a):
    mapping = parse_group_roles(f"design:{uuid.uuid4()}:member,design:{team_a.code}:viewer")
    user = make_user("dana@corp.example")
    apply_group_roles(user, {"groups": ["design"]}, mapping)
    assert list(user.memberships.values_list("team__name", "role")) == [("Team A", Role.VIEWER)]


def test_the_setting_is_checked_when_the_app_starts(settings):
    from generator.sso.groups import group_roles

    settings.OIDC_GROUP_ROLES = "design:not-a-code:member"
    with pytest.raises(ImproperlyConfigured, match="OIDC_GROUP_ROLES"):
        group_roles()
