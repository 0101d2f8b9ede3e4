from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """The claims of the people in the config: email, whether it is verified, name, groups."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "profile"}

    def get_additional_claims(self, request):
        person = settings.CONFIG["people"][request.user.username]
        return {
            "email": person["email"],
            "email_verified": person["email_verified"],
            "name": person["name"],
            "groups": person["groups"],
        }
