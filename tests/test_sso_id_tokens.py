"""ID tokens are checked before anyone is signed in: signature against the provider's published
keys (fetched from the real test provider), issuer, audience, expiry with the configured clock
skew, and the sign-in's nonce. A refused token shows its reason on our error page."""

import time

import jwt
import pytest
from allauth.socialaccount.helpers import render_authentication_error
from django.test import RequestFactory
from jwcrypto.jwk import JWK

from generator.sso.views import IdTokenRefused, verify_id_token
from tests.oidc_provider.running import running_provider

NONCE = "nonce-of-this-sign-in"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idp")
    with running_provider(folder, "http://127.0.0.1:9/sso/oidc/login/callback/") as running:
        yield running


def claims(provider, **changes):
    now = int(time.time())
    base = {
        "iss": provider.issuer,
        "sub": "42",
        "aud": provider.client_id,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "dana@corp.example",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(provider, payload, key_pem=None, **header):
    """Signed as the provider signs: RS256, with its key's id (its JWK thumbprint)."""
    key_pem = key_pem or provider.private_key_pem
    kid = JWK.from_pem(provider.private_key_pem.encode()).thumbprint()
    return jwt.encode(payload, key_pem, algorithm="RS256", headers={"kid": kid, **header})


def verify(provider, token, nonce=NONCE):
    return verify_id_token(
        token,
        jwks_uri=f"{provider.issuer}/.well-known/jwks.json",
        issuer=provider.issuer,
        audience=provider.client_id,
        nonce=nonce,
    )


def refusal(provider, token, **kwargs):
    with pytest.raises(IdTokenRefused) as refused:
        verify(provider, token, **kwargs)
    return refused.value.reason


def test_a_token_signed_by_the_provider_for_us_is_accepted(provider):
    assert verify(provider, sign(provider, claims(provider)))["email"] == "dana@corp.example"


def test_a_token_for_another_application_is_refused(provider):
    token = sign(provider, claims(provider, aud="someone-else"))
    assert refusal(provider, token) == "it was issued for another application (wrong audience)"


def test_a_token_with_us_among_several_audiences_needs_us_as_authorized_party(provider):
    several = claims(provider, aud=[provider.client_id, "someone-else"])
    assert "wrong audience" in refusal(provider, sign(provider, several))
    ours = {**several, "azp": provider.client_id}
    assert verify(provider, sign(provider, ours))["sub"] == "42"


def test_a_token_from_another_issuer_is_refused(provider):
    token = sign(provider, claims(provider, iss="http://127.0.0.1:9/o"))
    assert refusal(provider, token) == "it comes from another issuer than the one configured"


def test_an_expired_token_is_refused_beyond_the_clock_skew_but_not_within(provider, settings):
    settings.OIDC_CLOCK_SKEW_SECONDS = 60
    now = int(time.time())
    expired = sign(provider, claims(provider, iat=now - 600, exp=now - 120))
    assert refusal(provider, expired).startswith("it has expired")
    just = sign(provider, claims(provider, iat=now - 600, exp=now - 30))
    assert verify(provider, just)["sub"] == "42"
    settings.OIDC_CLOCK_SKEW_SECONDS = 0
    assert refusal(provider, just).startswith("it has expired")


def test_a_token_issued_in_the_future_beyond_the_skew_is_refused(provider):
    future = int(time.time()) + 3600
    token = sign(provider, claims(provider, iat=future, exp=future + 300))
    assert refusal(provider, token).startswith("it is not valid yet")


def test_a_tampered_token_is_refused(provider):
    header, payload, signature = sign(provider, claims(provider)).split(".")
    forged = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b"dana@", b"mall@")
    ).decode()
    token = f"{header}.{forged}.{signature}"
    assert refusal(provider, token) == "its signature does not match the provider's keys"


def test_a_token_signed_with_another_key_under_the_providers_key_id_is_refused(provider):
    from tests.oidc_provider.running import _private_key_pem

    token = sign(provider, claims(provider), key_pem=_private_key_pem())
    assert refusal(provider, token) == "its signature does not match the provider's keys"


def test_a_token_signed_with_the_client_secret_or_unsigned_is_refused(provider):
    hmac_token = jwt.encode(claims(provider), provider.client_secret, algorithm="HS256")
    assert "algorithm we do not accept (HS256)" in refusal(provider, hmac_token)
    unsigned = jwt.encode(claims(provider), None, algorithm="none")
    assert "algorithm we do not accept (none)" in refusal(provider, unsigned)


def test_a_token_from_another_sign_in_is_refused_by_its_nonce(provider):
    token = sign(provider, claims(provider, nonce="another sign-in"))
    assert refusal(provider, token) == "it does not belong to this sign-in (nonce mismatch)"
    without = sign(provider, claims(provider, nonce=None))
    assert "nonce mismatch" in refusal(provider, without)


def test_a_token_without_a_subject_is_refused(provider):
    token = sign(provider, claims(provider, sub=None))
    assert refusal(provider, token) == "a required claim is missing"


def test_garbage_is_refused(provider):
    assert refusal(provider, "not.a.token") == "it is not a well-formed signed token"


@pytest.mark.django_db
def test_the_error_page_says_why_in_a_sentence_and_shows_no_token(rf_session):
    exception = IdTokenRefused("it was issued for another application (wrong audience)")
    response = render_authentication_error(rf_session, provider=None, exception=exception)
    page = response.content.decode()
    assert response.status_code == 401
    assert "Sign-in failed" in page
    assert "was refused: it was issued for another application (wrong audience)." in page
    assert "Traceback" not in page


@pytest.fixture
def rf_session():
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/sso/oidc/login/callback/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.django_db
def test_userinfo_about_someone_else_than_the_id_token_is_refused(
    rf_session, settings, monkeypatch
):
    from allauth.core import context as allauth_context
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialToken

    from generator.sso.views import VerifyingAdapter

    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Corp SSO",
                    "client_id": "akool-web",
                    "secret": "s3cret",
                    "settings": {"server_url": "http://127.0.0.1:9/o"},
                }
            ]
        }
    }
    # The two answers as the provider would give them, already checked on their own.
    monkeypatch.setattr(VerifyingAdapter, "_fetch_user_info", lambda self, token: {"sub": "7"})
    monkeypatch.setattr(VerifyingAdapter, "_decode_id_token", lambda self, app, t: {"sub": "42"})
    with allauth_context.request_context(rf_session):
        adapter = VerifyingAdapter(rf_session, "oidc")
        app = get_adapter().get_provider(rf_session, "oidc").app
        with pytest.raises(IdTokenRefused, match="about someone else"):
            adapter.complete_login(
                rf_session, app, SocialToken(token="t"), response={"id_token": "x"}
            )
        monkeypatch.setattr(VerifyingAdapter, "_fetch_user_info", lambda self, token: {"sub": "42"})
        login = adapter.complete_login(
            rf_session, app, SocialToken(token="t"), response={"id_token": "x"}
        )
        assert login.account.uid == "42"
