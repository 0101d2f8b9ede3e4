"""Who signs in through the identity provider, and as which account (linking rules); the
sign-in pages' answers to a broken or cancelled sign-in; and turning password sign-in off."""

import pytest
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from generator.models import AuditAction, AuditEntry, Membership, Role, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("own_cache")

ISSUER = "http://127.0.0.1:9/o"


@pytest.fixture
def sso(settings):
    """Single sign-on configured (nothing here reaches the provider)."""
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER_URL = ISSUER
    settings.OIDC_DISPLAY_NAME = "Corp SSO"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Corp SSO",
                    "client_id": "akool-web",
                    "secret": "s3cret",
                    "settings": {"server_url": ISSUER, "oauth_pkce_enabled": True},
                }
            ]
        }
    }
    return settings


def _request():
    request = RequestFactory().get("/sso/oidc/login/callback/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    request._messages = FallbackStorage(request)
    return request


def sign_in(claims):
    """Run allauth's sign-in completion (our adapters, signals) on these ID-token claims, as
    the callback does once the token checked out. Returns the response and the request."""
    request = _request()
    with allauth_context.request_context(request):
        provider = get_adapter().get_provider(request, "oidc")
        sociallogin = provider.sociallogin_from_response(request, {"id_token": claims})
        sociallogin.state = {"process": "login", "data": None}
        response = complete_social_login(request, sociallogin)
    return response, request


def claims(email="dana@corp.example", verified=True, sub="sub-1", **more):
    return {"sub": sub, "email": email, "email_verified": verified, "name": "Dana D", **more}


# --- linking rules ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_first_sign_in_makes_an_account_without_a_password(sso):
    response, request = sign_in(claims(email="Dana@Corp.example"))
    assert response.status_code == 302
    user = User.objects.get(email="dana@corp.example")
    assert user.name == "Dana D"
    assert not user.has_usable_password()
    assert request.user == user
    assert SocialAccount.objects.get(user=user).uid == "sub-1"


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_end_in_one_account_both_signed_in(sso, monkeypatch):
    """A double click or a second tab: both found no account, and the other sign-in (another
    request: its own thread and database connection) commits its new account just before
    this one saves the same. This one signs in to that account instead of failing on the
    duplicate."""
    import threading

    from django.db import connection

    from generator.sso.adapters import SocialAccountAdapter

    save = SocialAccountAdapter.save_user
    other = {}

    def other_request():
        try:
            other["response"], other["request"] = sign_in(claims())
        finally:
            connection.close()

    def lose_the_race(self, request, sociallogin, form=None):
        if not other:
            other["started"] = True  # the other sign-in passes through here too
            thread = threading.Thread(target=other_request)
            thread.start()
            thread.join()
        return save(self, request, sociallogin, form)

    monkeypatch.setattr(SocialAccountAdapter, "save_user", lose_the_race)
    response, request = sign_in(claims())
    assert other["response"].status_code == 302
    assert response.status_code == 302
    assert response["Location"] == other["response"]["Location"]
    user = User.objects.get(email="dana@corp.example")
    assert request.user == other["request"].user == user
    assert User.objects.count() == 1
    assert SocialAccount.objects.get().user == user


@pytest.mark.django_db
def test_the_next_sign_in_finds_the_account_by_its_subject_even_if_the_email_changed(sso):
    sign_in(claims())
    response, request = sign_in(claims(email="dana.d@corp.example"))
    assert response.status_code == 302
    assert request.user.email == "dana@corp.example"
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_an_existing_account_is_linked_when_the_email_is_verified(sso, owner):
    response, request = sign_in(claims(email="OWNER@a.example"))
    assert response.status_code == 302
    assert request.user == owner
    assert SocialAccount.objects.get(user=owner).uid == "sub-1"
    owner.refresh_from_db()
    assert owner.has_usable_password()


@pytest.mark.django_db
def test_an_existing_account_is_not_linked_when_the_email_is_unverified(sso, owner):
    response, request = sign_in(claims(email=owner.email, verified=False))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Corp SSO does not mark your email address owner@a.example as verified" in page
    assert not request.user.is_authenticated
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("verified", [False, "false", None])
def test_no_account_is_made_from_an_unverified_email(sso, verified):
    response, _ = sign_in(claims(verified=verified))
    assert response.status_code == 403
    assert b"as verified" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_sign_in_without_an_email_is_refused_saying_what_to_release(sso):
    response, _ = sign_in({"sub": "sub-1", "name": "No Mail"})
    assert response.status_code == 403
    assert "did not tell us your email address" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_deactivated_account_is_refused_whether_linked_or_not(sso, owner):
    owner.is_active = False
    owner.save()
    response, request = sign_in(claims(email=owner.email))
    assert response.status_code == 403
    assert b"deactivated" in response.content
    assert not request.user.is_authenticated


@pytest.mark.django_db
def test_groups_are_applied_at_each_sign_in(sso, team_a):
    sso.OIDC_GROUP_ROLES = f"design:{team_a.code}:member,design-admins:{team_a.code}:admin"
    sign_in(claims(groups=["design"]))
    user = User.objects.get(email="dana@corp.example")
    assert Membership.objects.get(team=team_a, user=user).role == Role.MEMBER
    sign_in(claims(groups=["design", "design-admins"]))
    assert Membership.objects.get(team=team_a, user=user).role == Role.ADMIN
    assert AuditEntry.objects.filter(team=team_a, action=AuditAction.ROLE_CHANGED).count() == 1


# --- the sign-in pages ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_login_page_offers_the_provider_when_configured(client, sso):
    page = client.get(reverse("login") + "?next=/teams/").content.decode()
    assert "Sign in with Corp SSO" in page
    assert 'action="/sso/oidc/login/"' in page
    assert 'name="next" value="/teams/"' in page
    # The form may lead to the provider, and only there.
    csp = client.get(reverse("login"))["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:9;" in csp


@pytest.mark.django_db
def test_without_single_sign_on_there_is_no_button_and_no_sign_in_route(client):
    assert b"Sign in with" not in client.get(reverse("login")).content
    assert client.post("/sso/oidc/login/").status_code == 404


@pytest.mark.django_db
def test_a_callback_without_a_sign_in_in_progress_gets_our_page(client, sso):
    response = client.get("/sso/oidc/login/callback/?code=abc&state=forged")
    assert response.status_code == 401
    page = response.content.decode()
    assert "Sign-in failed" in page and "Signing in with Corp SSO did not work" in page
    assert "Traceback" not in page


@pytest.mark.django_db
def test_the_providers_login_page_is_ours_and_asks_for_a_post(client, sso):
    response = client.get("/sso/oidc/login/")
    assert response.status_code == 200
    assert b"Sign in with Corp SSO" in response.content
    assert b'method="post"' in response.content


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_gets_our_page(client, sso, caplog):
    # Nothing listens on the configured issuer's port 9.
    response = client.post("/sso/oidc/login/")
    assert response.status_code == 401
    assert "Signing in with Corp SSO did not work" in response.content.decode()
    assert "Single sign-on failed" in caplog.text


@pytest.mark.django_db
def test_an_error_at_the_provider_gets_our_page(client, sso):
    response = client.get(reverse("socialaccount_login_error"))
    assert response.status_code == 401
    assert b"Sign-in failed" in response.content


@pytest.mark.django_db
def test_allauths_names_for_its_own_pages_lead_to_ours(client, sso):
    assert client.get(reverse("account_login") + "?next=/teams/").url == "/login/?next=/teams/"
    assert client.get(reverse("socialaccount_signup")).url == reverse("login")


@pytest.mark.django_db
def test_a_cancelled_sign_in_says_so(client, sso):
    response = client.get(reverse("socialaccount_login_cancelled"))
    assert b"You stopped signing in at your identity provider" in response.content


# --- password sign-in off ---------------------------------------------------------------------


@pytest.fixture
def passwords_off(sso):
    sso.PASSWORD_SIGN_IN = False
    return sso


def _sign_in_with_password(client, email):
    return client.post(reverse("login"), {"username": email, "password": PASSWORD})


@pytest.mark.django_db
def test_with_passwords_off_the_login_page_says_so_and_keeps_break_glass(client, passwords_off):
    page = client.get(reverse("login")).content.decode()
    assert "Password sign-in is turned off here: use “Sign in with Corp SSO”" in page
    assert "Break-glass administrator sign-in" in page
    assert "Forgot your password?" not in page


@pytest.mark.django_db
def test_with_passwords_off_a_right_password_is_refused_like_a_wrong_one(
    client, passwords_off, owner
):
    right = _sign_in_with_password(client, owner.email)
    assert not get_user(client).is_authenticated
    wrong = client.post(reverse("login"), {"username": owner.email, "password": "nope"})
    message = "Password sign-in is turned off here"
    assert message in right.content.decode() and message in wrong.content.decode()


@pytest.mark.django_db
def test_with_passwords_off_a_superuser_still_signs_in(client, passwords_off):
    User.objects.create_superuser("root@corp.example", PASSWORD)
    response = _sign_in_with_password(client, "root@corp.example")
    assert response.status_code == 302
    assert get_user(client).email == "root@corp.example"


@pytest.mark.django_db
def test_with_passwords_off_staff_cannot_use_the_admin_login_either(client, passwords_off):
    staff = make_user("staff@corp.example")
    staff.is_staff = True
    staff.save()
    response = client.post(reverse("admin:login"), {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 200
    assert not get_user(client).is_authenticated


@pytest.mark.django_db
def test_with_passwords_off_resets_are_off(client, passwords_off, owner):
    response = client.get(reverse("password_reset"))
    assert response.status_code == 403
    assert b"Password sign-in is turned off here" in response.content
    sent = client.post(reverse("password_reset"), {"email": owner.email})
    assert sent.status_code == 403
    link = reverse("password_reset_confirm", args=["MQ", "set-password"])
    assert client.get(link).status_code == 403


@pytest.mark.django_db
def test_with_passwords_off_open_sign_up_is_closed(client, passwords_off):
    passwords_off.ALLOW_SIGNUP = True
    assert client.get(reverse("signup")).status_code == 404


@pytest.mark.django_db
def test_with_passwords_off_an_invitation_asks_to_sign_in_with_the_provider(
    client, passwords_off, team_a, owner
):
    from generator.models import Invitation

    invitation = Invitation.objects.create(team=team_a, email="new@corp.example", invited_by=owner)
    page = client.get(reverse("invite", args=[invitation.code])).content.decode()
    assert "Sign in with Corp SSO as new@corp.example" in page
    assert f'name="next" value="/invite/{invitation.code}/"' in page
    assert "Create account and join" not in page
