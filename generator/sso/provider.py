"""allauth's OpenID Connect provider, with the checks it leaves out switched on.

allauth finds providers in each installed app's `provider` module. This one replaces its stock
OpenID Connect provider (whose app is not installed) under the same id, so its settings and URL
names stay allauth's; the differences are in `views.py`:
- a nonce is sent with every sign-in and checked in the ID token (allauth sends none);
- the ID token's signature is always checked against the provider's published keys (allauth
  skips it when the token came straight from the token endpoint, as the spec allows over TLS;
  checking costs one request for the keys and also catches a misconfigured or spoofed
  endpoint);
- the userinfo answer must be about the ID token's subject;
- token times are checked with OIDC_CLOCK_SKEW_SECONDS of leeway (allauth allows none).
Discovery, state and PKCE are allauth's own.
"""

import secrets

import requests
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

from .views import VerifyingAdapter


class VerifyingOpenIDConnectProvider(OpenIDConnectProvider):
    oauth2_adapter_class = VerifyingAdapter

    @classmethod
    def get_package(cls):
        # Our urls.py, which routes to the verifying views.
        return "generator.sso"

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        auth_params["nonce"] = nonce
        try:
            # Extra keyword arguments are stashed in the sign-in's state, next to the PKCE
            # verifier.
            return super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except (requests.RequestException, ValueError, KeyError) as exc:
            # The discovery document could not be fetched or lacks an endpoint: our page, with
            # the reason in the log, rather than an error page.
            return render_authentication_error(request, self, exception=exc)


provider_classes = [VerifyingOpenIDConnectProvider]
