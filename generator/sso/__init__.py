"""Single sign-on through the company's identity provider (OpenID Connect, via allauth)."""

from django.conf import settings
from django.urls import reverse


def sign_in_option():
    """What the login page needs for the "Sign in with …" button, or None when SSO is off."""
    if not settings.OIDC_ENABLED:
        return None
    return {
        "name": settings.OIDC_DISPLAY_NAME,
        "url": reverse("openid_connect_login", kwargs={"provider_id": settings.OIDC_PROVIDER_ID}),
    }


def may_use_password(user):
    """Whether `user` may sign in with a password: everyone, unless PASSWORD_SIGN_IN is off,
    when only superusers may (the break-glass account for when the provider is down)."""
    return settings.PASSWORD_SIGN_IN or user.is_superuser


def password_off_message():
    return (
        f"Password sign-in is turned off here: use “Sign in with {settings.OIDC_DISPLAY_NAME}”. "
        "Only the break-glass administrator account signs in with a password."
    )
