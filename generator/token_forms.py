"""Forms that make API tokens: a person's own (for one of their teams) and a team's service
tokens (an owner or admin chooses the role)."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from .models import Membership, Role, Scope, Team, service_roles

# Days a token lives; "" never expires.
EXPIRY_DAYS = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. “catalogue sync”.")
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.GENERATE)
    expires = forms.ChoiceField(choices=EXPIRY_DAYS, required=False, initial="90")
    monthly_cap = forms.IntegerField(
        min_value=0,
        required=False,
        label="Monthly cap",
        help_text="Credits this token may use per month; empty for no cap of its own.",
    )

    def expires_at(self):
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None

    def token_fields(self):
        data = self.cleaned_data
        return {
            "name": data["name"],
            "scope": data["scope"],
            "monthly_cap": data["monthly_cap"],
            "expires_at": self.expires_at(),
        }


class PersonalTokenForm(TokenForm):
    """A token that acts as its person, in one of their teams (with their role there)."""

    team = forms.ModelChoiceField(queryset=None, to_field_name="code", empty_label=None)
    field_order = ["name", "team", "scope", "expires", "monthly_cap"]

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_user(user)


class ServiceTokenForm(TokenForm):
    """A team token with a role of its own, at most the maker's (never owner)."""

    role = forms.ChoiceField(choices=(), initial=Role.MEMBER)
    field_order = ["name", "role", "scope", "expires", "monthly_cap"]

    def __init__(self, membership: Membership, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = service_roles(membership.role)
