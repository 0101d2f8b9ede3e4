"""allauth adapters: who may sign in through the identity provider, and as which account.

- A known sign-in (this provider, this subject) signs in its account, if still active.
- Otherwise the provider must vouch for the email address (email_verified): then an account
  with that address is linked (an administrator may have made it, or the person used a
  password before), or a new one is made. An unverified or missing address is refused with a
  sentence saying so, never a sign-up form: the email is the login here.
"""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db import IntegrityError, transaction
from django.shortcuts import render

from ..models import User

logger = logging.getLogger(__name__)

NO_EMAIL = (
    "{provider} did not tell us your email address, which is your login here. Ask your "
    "administrator to release the email claim (scope “email”) to this application."
)
UNVERIFIED_EMAIL = (
    "{provider} does not mark your email address {email} as verified, so it cannot be used "
    "to sign you in here. Verify it with {provider}, or ask your administrator."
)
INACTIVE = "Your account here is deactivated. Ask an administrator of this site."


def refuse(request, message):
    """Stop the sign-in and show why, on our page (403)."""
    response = render(
        request, "socialaccount/authentication_error.html", {"refusal": message}, status=403
    )
    raise ImmediateHttpResponse(response)


def verified_email(sociallogin):
    """(address, verified) the provider gave, lower-cased; ("", False) when it gave none."""
    for address in sociallogin.email_addresses:
        if address.email:
            return address.email.strip().lower(), bool(address.verified)
    return "", False


class AccountAdapter(DefaultAccountAdapter):
    """Only what allauth needs from accounts: our own views do password sign-in and sign-up."""

    def is_open_for_signup(self, request):
        return settings.ALLOW_SIGNUP


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        # The company's provider decides who gets in; ALLOW_SIGNUP is about password sign-up.
        return True

    def populate_user(self, request, sociallogin, data):
        user = sociallogin.user
        email, _ = verified_email(sociallogin)
        user.email = email
        name = data.get("name") or " ".join(
            part for part in (data.get("first_name"), data.get("last_name")) if part
        )
        user.name = (name or "")[: User._meta.get_field("name").max_length]
        return user

    def pre_social_login(self, request, sociallogin):
        provider = sociallogin.provider.name
        if sociallogin.is_existing:
            if not sociallogin.user.is_active:
                refuse(request, INACTIVE)
            return
        email, verified = verified_email(sociallogin)
        if not email:
            refuse(request, NO_EMAIL.format(provider=provider))
        if not verified:
            refuse(request, UNVERIFIED_EMAIL.format(provider=provider, email=email))
        existing = User.objects.filter(email__iexact=email).first()
        if existing is None:
            return  # allauth makes the account (save_user), with no usable password
        if not existing.is_active:
            refuse(request, INACTIVE)
        sociallogin.connect(request, existing)
        logger.info("Linked %s to its identity provider account", existing.email)

    def save_user(self, request, sociallogin, form=None):
        try:
            with transaction.atomic():
                return super().save_user(request, sociallogin, form)
        except IntegrityError:
            # The same new person's other sign-in (a double click, a second tab) made the
            # account between our check and this save: sign in to that one.
            if not self._join_the_account_made_meanwhile(request, sociallogin):
                raise
        if not sociallogin.user.is_active:
            refuse(request, INACTIVE)
        return sociallogin.user

    def _join_the_account_made_meanwhile(self, request, sociallogin):
        """Point `sociallogin` at the account another sign-in just made; False if none."""
        account = SocialAccount.objects.filter(
            provider=sociallogin.account.provider, uid=sociallogin.account.uid
        ).first()
        if account is not None:
            sociallogin.account, sociallogin.user = account, account.user
        else:
            email, _ = verified_email(sociallogin)
            existing = User.objects.filter(email__iexact=email).first()
            if existing is None:
                return False
            sociallogin.connect(request, existing)
        return True

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        # The reason goes to the log for the administrator; the page says it in a sentence.
        logger.warning(
            "Single sign-on failed (%s): %s", error, exception or "no details", exc_info=False
        )
