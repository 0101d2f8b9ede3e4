"""In a real browser, against a real identity provider (django-oauth-toolkit, started on
loopback): sign in through the provider's own login page and land in the studio, in the team
and with the role its groups map to."""

import pytest

from generator.models import AuditAction, AuditEntry, Membership, Role, User
from tests.factories import PASSWORD as PASSWORD_OF_FACTORIES
from tests.oidc_provider.running import PASSWORD, running_provider

pytestmark = pytest.mark.browser


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture(scope="module")
def identity_provider(live_server, tmp_path_factory):
    callback = f"{live_server.url}/sso/oidc/login/callback/"
    with running_provider(tmp_path_factory.mktemp("idp"), callback) as provider:
        yield provider


@pytest.fixture
def sso(identity_provider, settings, team_a):
    identity_provider.configure(
        settings,
        OIDC_GROUP_ROLES=(
            f"akool-design:{team_a.code}:member,akool-design-admins:{team_a.code}:admin"
        ),
    )
    return identity_provider


def sign_in_at_provider(page, username):
    page.goto("/login/")
    page.get_by_role("button", name="Sign in with Test IdP").click()
    # The provider's own login page, on its own port.
    expect()(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in to the identity provider").click()


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_a_new_designer_lands_in_the_mapped_team_as_a_member(browser_page, sso, team_a):
    page = browser_page
    sign_in_at_provider(page, "dana")
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
    assert page.url.endswith(f"/t/{team_a.code}/")
    expect()(page.locator("#team-switcher")).to_have_value(str(team_a.code))
    expect()(main_nav(page).get_by_role("link", name="Team settings")).to_have_count(0)

    user = User.objects.get(email="dana@corp.example")
    assert user.name == "Dana Designer"
    assert not user.has_usable_password()
    assert Membership.objects.get(team=team_a, user=user).role == Role.MEMBER
    entry = AuditEntry.objects.get(team=team_a, action=AuditAction.MEMBER_JOINED)
    assert (entry.actor, entry.details) == (user, {"role": "member", "via": "identity provider"})
    assert page.js_errors == []


def test_an_admin_group_makes_an_admin_who_sees_team_settings(browser_page, sso, team_a):
    page = browser_page
    sign_in_at_provider(page, "ada")
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
    main_nav(page).get_by_role("link", name="Team settings").click()
    expect()(page.get_by_role("heading", name="Team settings")).to_be_visible()
    user = User.objects.get(email="ada@corp.example")
    assert Membership.objects.get(team=team_a, user=user).role == Role.ADMIN


def test_an_existing_account_is_linked_when_the_provider_verified_its_email(
    browser_page, sso, team_a, team_b
):
    from tests.factories import make_user

    existing = make_user("dana@corp.example", team_b, Role.OWNER, name="Dana")
    page = browser_page
    sign_in_at_provider(page, "dana")
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
    assert User.objects.filter(email__iexact="dana@corp.example").count() == 1
    existing.refresh_from_db()
    # The mapping adds the design team; the team it does not name is left alone.
    assert set(existing.memberships.values_list("team__name", "role")) == {
        ("Team A", Role.MEMBER),
        ("Team B", Role.OWNER),
    }
    assert existing.has_usable_password()


def test_an_unverified_email_is_refused_with_a_clear_message(browser_page, sso):
    page = browser_page
    sign_in_at_provider(page, "uma")
    expect()(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect()(page.get_by_role("alert")).to_contain_text(
        "does not mark your email address uma@corp.example as verified"
    )
    assert not User.objects.filter(email="uma@corp.example").exists()
    page.goto("/")
    assert "/login/" in page.url


def test_an_id_token_from_another_issuer_is_refused_with_a_clear_message(
    browser_page, identity_provider, settings
):
    # The app expects another issuer than the one the provider writes into its tokens.
    identity_provider.configure(settings, discovery={"issuer": "http://127.0.0.1:9/o"})
    page = browser_page
    sign_in_at_provider(page, "dana")
    expect()(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect()(page.get_by_role("alert")).to_have_text(
        "The sign-in answer from Test IdP was refused: "
        "it comes from another issuer than the one configured."
    )
    assert not User.objects.filter(email="dana@corp.example").exists()


def test_with_password_sign_in_off_people_use_the_provider(browser_page, sso, settings, owner):
    settings.PASSWORD_SIGN_IN = False
    page = browser_page
    page.goto("/login/")
    expect()(page.get_by_text("Password sign-in is turned off here")).to_be_visible()
    page.get_by_text("Break-glass administrator sign-in").click()
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD_OF_FACTORIES)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect()(page.get_by_role("alert")).to_contain_text("Password sign-in is turned off here")
    sign_in_at_provider(page, "dana")
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
