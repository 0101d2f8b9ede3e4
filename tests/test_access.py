"""Every team-scoped URL: 404 for outsiders, 403 below the needed role, login for anonymous."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from generator.models import ROLE_RANK, Invitation, Role, Team

# (url name, HTTP method, lowest role allowed). Extend when adding a team-scoped URL:
# test_every_team_url_is_listed fails until you do.
TEAM_URLS = [
    ("studio", "get", Role.VIEWER),
    ("team_leave", "post", Role.VIEWER),
    ("team_settings", "get", Role.ADMIN),
    ("team_details", "post", Role.ADMIN),
    ("member_role", "post", Role.ADMIN),
    ("member_remove", "post", Role.ADMIN),
    ("invitation_create", "post", Role.ADMIN),
    ("invitation_revoke", "post", Role.ADMIN),
    ("credentials_save", "post", Role.ADMIN),
    ("credentials_remove", "post", Role.ADMIN),
    ("credentials_test", "post", Role.ADMIN),
    ("team_transfer", "post", Role.OWNER),
    ("team_delete", "post", Role.OWNER),
    ("team_budget", "post", Role.ADMIN),
    ("member_cap", "post", Role.ADMIN),
    ("audit_log", "get", Role.ADMIN),
    ("usage", "get", Role.VIEWER),
    ("usage_csv", "get", Role.VIEWER),
    ("studio_generate", "post", Role.MEMBER),
    ("studio_estimate", "get", Role.MEMBER),
    ("studio_form", "get", Role.MEMBER),
    ("prompt_history", "get", Role.MEMBER),
    ("studio_gallery", "get", Role.VIEWER),
    ("studio_poll", "get", Role.VIEWER),
    ("image_detail", "get", Role.VIEWER),
    ("image_file", "get", Role.VIEWER),
    ("image_star", "post", Role.VIEWER),
    ("image_delete", "post", Role.MEMBER),
    ("image_dismiss", "post", Role.MEMBER),
    ("image_retry", "post", Role.MEMBER),
    ("image_button", "post", Role.MEMBER),
    ("share_list", "get", Role.MEMBER),
    ("share_create", "post", Role.MEMBER),
    ("share_settings", "post", Role.ADMIN),
    ("share_edit", "post", Role.MEMBER),
    ("share_revoke", "post", Role.MEMBER),
    ("image_tags", "post", Role.MEMBER),
    # Starring is personal; the other bulk actions check the member role inside.
    ("studio_bulk", "post", Role.VIEWER),
    ("studio_bulk_count", "get", Role.VIEWER),
    ("board_list", "get", Role.VIEWER),
    ("board_create", "post", Role.MEMBER),
    ("board_edit", "post", Role.MEMBER),
    ("board_delete", "post", Role.MEMBER),
    ("studio_zip", "post", Role.VIEWER),
    ("studio_compare", "get", Role.VIEWER),
    ("studio_compare_selection", "post", Role.VIEWER),
    ("image_boards", "post", Role.MEMBER),
    ("team_retention", "post", Role.ADMIN),
    ("trash_list", "get", Role.VIEWER),
    ("trash_restore", "post", Role.MEMBER),
    ("trash_empty", "post", Role.ADMIN),
    ("studio_fill", "post", Role.MEMBER),
    ("preset_list", "get", Role.VIEWER),
    ("preset_create", "post", Role.MEMBER),
    ("preset_picker", "get", Role.MEMBER),
    # Members reach their own presets; the author-or-admin rule is checked inside.
    ("preset_edit", "post", Role.MEMBER),
    ("preset_delete", "post", Role.MEMBER),
    ("blocked_phrases", "post", Role.ADMIN),
    ("moderation_test", "post", Role.ADMIN),
    ("channel_list", "get", Role.ADMIN),
    ("channel_create", "post", Role.ADMIN),
    ("channel_detail", "get", Role.ADMIN),
    ("channel_detail", "post", Role.ADMIN),
    ("channel_test", "post", Role.ADMIN),
    ("channel_log", "get", Role.ADMIN),
    ("channel_delete", "post", Role.ADMIN),
    ("team_tokens", "get", Role.ADMIN),
    ("team_token_revoke", "post", Role.ADMIN),
]
URL_IDS = [name for name, _, _ in TEAM_URLS]


@pytest.fixture
def invitation(team_a, owner):
    return Invitation.objects.create(team=team_a, email="new@a.example", invited_by=owner)


def team_url(name, team, invitation):
    args = [team.code]
    if name == "invitation_revoke":
        args.append(invitation.code)
    if name.startswith("image_") or name in ("share_edit", "share_revoke"):
        # The team check comes before the image or link is looked up, so any code will do.
        args.append(uuid.uuid4())
    if name in ("board_edit", "board_delete", "preset_edit", "preset_delete") or (
        name.startswith("channel_") and name not in ("channel_list", "channel_create")
    ):
        # Like images: the team check comes first, so any board, preset or channel code will do.
        args.append(uuid.uuid4())
    if name == "team_token_revoke":
        # The team check comes first, so any token code will do.
        args.append(uuid.uuid4())
    if name == "image_file":
        args.append("thumb")
    return reverse(name, args=args)


def call(client, method, url):
    return getattr(client, method)(url)


def _team_scoped_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _team_scoped_names(entry, route)
        elif isinstance(entry, URLPattern) and "team_code" in route and entry.name:
            yield entry.name


def test_every_team_url_is_listed():
    assert set(_team_scoped_names()) <= set(URL_IDS)


@pytest.mark.parametrize(("name", "method", "role"), TEAM_URLS, ids=URL_IDS)
def test_outsider_gets_404(outsider_client, team_a, invitation, name, method, role):
    response = call(outsider_client, method, team_url(name, team_a, invitation))
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "role"), TEAM_URLS, ids=URL_IDS)
def test_anonymous_is_sent_to_login(client, team_a, invitation, name, method, role):
    response = call(client, method, team_url(name, team_a, invitation))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


PEOPLE_BELOW_OWNER = {"viewer": Role.VIEWER, "member": Role.MEMBER, "team_admin": Role.ADMIN}
LOW_ROLE_CASES = [
    (name, method, role, person)
    for name, method, role in TEAM_URLS
    for person, persons_role in PEOPLE_BELOW_OWNER.items()
    if ROLE_RANK[persons_role] < ROLE_RANK[role]
]


@pytest.mark.parametrize(
    ("name", "method", "role", "person"),
    LOW_ROLE_CASES,
    ids=[f"{name}-as-{person}" for name, _, _, person in LOW_ROLE_CASES],
)
def test_a_too_low_role_gets_403(request, team_a, invitation, name, method, role, person):
    client = request.getfixturevalue(f"{person}_client")
    response = call(client, method, team_url(name, team_a, invitation))
    assert response.status_code == 403


def test_the_403_page_says_which_role_is_needed(member_client, team_a):
    response = member_client.get(reverse("team_settings", args=[team_a.code]))
    assert response.status_code == 403
    assert b"needs the Admin role" in response.content


def test_the_lowest_allowed_role_gets_in(viewer_client, team_admin_client, team_a):
    assert viewer_client.get(reverse("studio", args=[team_a.code])).status_code == 200
    settings_url = reverse("team_settings", args=[team_a.code])
    assert team_admin_client.get(settings_url).status_code == 200


def test_outsider_cannot_delete_a_team_even_with_its_name(outsider_client, team_a):
    response = outsider_client.post(
        reverse("team_delete", args=[team_a.code]), {"confirm": team_a.name}
    )
    assert response.status_code == 404
    assert Team.objects.filter(pk=team_a.pk).exists()


def test_outsider_cannot_switch_into_a_team(outsider_client, outsider, team_a):
    response = outsider_client.post(reverse("team_switch"), {"team": str(team_a.code)})
    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.current_team_id != team_a.pk


@pytest.mark.parametrize("value", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_switching_to_a_bad_team_code_is_404(owner_client, value):
    assert owner_client.post(reverse("team_switch"), {"team": value}).status_code == 404


def test_post_only_views_refuse_get(owner_client, team_a):
    assert owner_client.get(reverse("team_delete", args=[team_a.code])).status_code == 405
    assert owner_client.get(reverse("logout")).status_code == 405


def test_htmx_fragments_skip_the_header_query_but_history_restores_keep_it(owner, rf):
    from django_htmx.middleware import HtmxDetails

    from generator.context_processors import teams

    def request(**headers):
        req = rf.get("/", **headers)
        req.user = owner
        req.htmx = HtmxDetails(req)
        return req

    assert teams(request())["my_teams"]
    assert "my_teams" not in teams(request(HTTP_HX_REQUEST="true"))
    restore = request(HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert teams(restore)["my_teams"]


def test_team_access_sets_the_membership_on_the_request(owner, team_a, rf):
    from generator.access import team_access

    req = rf.get("/")
    req.user = owner
    membership = team_access(req, team_a.code)
    assert req.membership is membership and membership.team == team_a
