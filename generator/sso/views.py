"""The OpenID Connect sign-in and callback views: allauth's, with a verifying adapter."""

import hmac
import logging

import jwt
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.http import Http404
from django.views.decorators.http import require_http_methods

logger = logging.getLogger(__name__)

# Public-key algorithms only: an HMAC-signed token would be "signed" with our client secret,
# and "none" is not signed at all.
ASYMMETRIC_ALGORITHMS = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}  # fmt: skip

# Why an ID token was refused, as the person reads it (no token content, no secret).
REASONS = [
    (jwt.ExpiredSignatureError, "it has expired (check that this server's clock is right)"),
    (jwt.ImmatureSignatureError, "it is not valid yet (check that this server's clock is right)"),
    (jwt.InvalidAudienceError, "it was issued for another application (wrong audience)"),
    (jwt.InvalidIssuerError, "it comes from another issuer than the one configured"),
    (jwt.InvalidSignatureError, "its signature does not match the provider's keys"),
    (jwt.MissingRequiredClaimError, "a required claim is missing"),
    (jwt.DecodeError, "it is not a well-formed signed token"),
]


class IdTokenRefused(OAuth2Error):
    """The ID token failed a check; `reason` says which, for the person and the log."""

    def __init__(self, reason):
        super().__init__(f"ID token refused: {reason}")
        self.reason = reason


def _reason(exc):
    for kind, sentence in REASONS:
        if isinstance(exc, kind):
            return sentence
    return "it failed a check"


class VerifyingAdapter(OpenIDConnectOAuth2Adapter):
    # The nonce stashed with this sign-in's state (set by CallbackView before the token comes).
    expected_nonce = None

    def complete_login(self, request, app, token, **kwargs):
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data
        userinfo, id_token = data.get("userinfo") or {}, data.get("id_token") or {}
        # OpenID Connect Core 5.3.2: userinfo is only about the person the ID token names.
        if userinfo and id_token and str(userinfo.get("sub")) != str(id_token.get("sub")):
            raise IdTokenRefused("the provider's user information is about someone else")
        return login

    def _decode_id_token(self, app, id_token):
        return verify_id_token(
            id_token,
            jwks_uri=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            nonce=self.expected_nonce,
        )


def verify_id_token(id_token, *, jwks_uri, issuer, audience, nonce):
    """The ID token's claims once its signature, issuer, audience, times and nonce check out
    (OpenID Connect Core 3.1.3.7); raises IdTokenRefused otherwise."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise IdTokenRefused(_reason(exc)) from exc
    if header.get("alg") not in ASYMMETRIC_ALGORITHMS:
        alg = header.get("alg")
        raise IdTokenRefused(f"it is signed with an algorithm we do not accept ({alg})")
    try:
        alg, key = jwtkit.fetch_key(id_token, jwks_uri, jwtkit.lookup_kid_jwk)
    except (KeyError, OAuth2Error) as exc:
        raise IdTokenRefused("it is signed with a key the provider does not publish") from exc
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise IdTokenRefused(_reason(exc)) from exc
    # With several audiences, the token must be meant for us as its authorized party.
    several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
    if several and claims.get("azp") != audience:
        raise IdTokenRefused("it was issued for another application (wrong audience)")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise IdTokenRefused("it does not belong to this sign-in (nonce mismatch)")
    return claims


class CallbackView(OAuth2CallbackView):
    def _get_state(self, request, provider):
        state, response = super()._get_state(request, provider)
        if state:
            self.adapter.expected_nonce = state.get("nonce")
        return state, response


def _app_or_404(view, request, provider_id):
    try:
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404("Single sign-on is not configured.") from None


@require_http_methods(["GET", "POST"])
def login(request, provider_id):
    view = OAuth2LoginView.adapter_view(VerifyingAdapter(request, provider_id))
    return _app_or_404(view, request, provider_id)


@require_http_methods(["GET", "POST"])
def callback(request, provider_id):
    view = CallbackView.adapter_view(VerifyingAdapter(request, provider_id))
    return _app_or_404(view, request, provider_id)
