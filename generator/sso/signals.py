"""After a sign-in through the identity provider: apply its groups to team memberships."""

from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from .groups import apply_group_roles


def claims_of(sociallogin):
    """The person's claims: the ID token's, completed by userinfo (which may hold more)."""
    data = sociallogin.account.extra_data or {}
    claims = dict(data.get("id_token") or {})
    claims.update(data.get("userinfo") or {})
    return claims


@receiver(user_logged_in, dispatch_uid="sso-group-roles")
def apply_groups_at_sign_in(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is None:
        return
    apply_group_roles(user, claims_of(sociallogin))
