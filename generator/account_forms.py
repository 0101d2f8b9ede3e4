"""Forms for people, teams, invitations and credentials.

Kept apart from `forms.py` (the generation pipeline's forms) so the two areas can change
independently; merge them if either one stays small.
"""

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.core.exceptions import ValidationError

from .lib import login_throttle
from .lib.client_address import client_ip
from .models import ROLE_RANK, Backend, Role, Team, User
from .sso import may_use_password, password_off_message

# --- people ----------------------------------------------------------------------------------


class ThrottledSignIn:
    """Sign-in throttling for an AuthenticationForm (the site's and the admin's)."""

    def clean(self):
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password"):
            return super().clean()
        ip = client_ip(self.request)
        # Refused before the password is checked, so a waiting account gives guessers nothing.
        wait = login_throttle.sign_in_wait(email, ip)
        if wait:
            login_throttle.record_refused(ip)
            raise ValidationError(login_throttle.lockout_message(wait), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            login_throttle.record_failure(email, ip)
            raise
        login_throttle.clear_account(email)
        return cleaned

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not may_use_password(user):
            # The same sentence as a wrong password (see __init__), so a guesser cannot tell
            # a right password of an SSO account from a wrong one.
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django keeps the messages on the class: copy before changing them for this form.
        self.error_messages = dict(self.error_messages)
        if not settings.PASSWORD_SIGN_IN:
            self.error_messages["invalid_login"] = password_off_message()


class EmailAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """Django's login form, asking for an email address instead of a username."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.label = "Email"
        field.widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "maxlength": 254}
        )
        if settings.PASSWORD_SIGN_IN:
            self.error_messages["invalid_login"] = (
                "That email and password do not match an account. Check both and try again."
            )


class AdminLoginForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's login form, throttled like the site's: it checks the same passwords."""


def _taken(email):
    return User.objects.filter(email__iexact=email).exists()


class SignupForm(BaseUserCreationForm):
    """Open sign-up: email, name, password twice."""

    class Meta:
        model = User
        fields = ("email", "name")
        labels = {"name": "Your name"}
        help_texts = {"name": "Shown to your teammates. Optional."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["name"].widget.attrs.update(autocomplete="name")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if _taken(email):
            raise ValidationError(
                "An account with this email already exists. Sign in, or reset your password.",
                code="taken",
            )
        return email

    def validate_unique(self):
        # clean_email already checked, case-insensitively and with a clearer message.
        pass


class InviteSignupForm(BaseUserCreationForm):
    """Sign-up from an invitation: the email address is the invitation's and cannot change."""

    class Meta:
        model = User
        fields = ("name",)
        labels = {"name": "Your name"}
        help_texts = {"name": "Shown to your teammates. Optional."}

    def __init__(self, invitation, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set before validation so the similarity validator compares against the email.
        self.instance.email = invitation.email.lower()
        self.fields["name"].widget.attrs.update(autocomplete="name", autofocus=True)

    def validate_unique(self):
        pass


# --- teams -----------------------------------------------------------------------------------


class TeamCreateForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("name",)
        labels = {"name": "Team name"}
        help_texts = {"name": "For example your department or project."}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the team a name.", code="required")
        return name


@cache
def _time_zone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class TeamDetailsForm(TeamCreateForm):
    time_zone = forms.ChoiceField(
        label="Time zone", help_text="Dates in the gallery are shown in this time zone."
    )

    class Meta(TeamCreateForm.Meta):
        fields = ("name", "time_zone", "default_resolution")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()
        # A post that leaves it out (a page from before the field existed) keeps the setting.
        self.fields["default_resolution"].required = False

    def clean_default_resolution(self):
        return self.cleaned_data["default_resolution"] or self.instance.default_resolution


def role_choices_for(actor_role):
    """The roles a person with `actor_role` may hand out: never above their own."""
    return [
        (value, label) for value, label in Role.choices if ROLE_RANK[value] <= ROLE_RANK[actor_role]
    ]


class _MemberField(forms.ModelChoiceField):
    """A team member, identified in the form by email address (never by a database id)."""

    def __init__(self, team, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": "That person is not in the team."})
        super().__init__(
            queryset=User.objects.filter(memberships__team=team), to_field_name="email", **kwargs
        )


def _owner_count(team):
    return team.memberships.filter(role=Role.OWNER).count()


LAST_OWNER = (
    "A team needs at least one owner. Make someone else an owner first, or transfer ownership."
)
OWNER_ONLY = "Only an owner can give or take away the owner role."


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def __init__(self, team, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.actor = actor  # the acting person's Membership
        self.fields["member"] = _MemberField(team, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        user, role = cleaned.get("member"), cleaned.get("role")
        if user is None or role is None:
            return cleaned
        target = self.team.memberships.get(user=user)
        touches_owner = Role.OWNER in (target.role, role)
        if touches_owner and self.actor.role != Role.OWNER:
            raise ValidationError(OWNER_ONLY, code="owner_only")
        if target.role == Role.OWNER and role != Role.OWNER and _owner_count(self.team) <= 1:
            raise ValidationError(LAST_OWNER, code="last_owner")
        cleaned["membership"] = target
        return cleaned


class MemberRemoveForm(forms.Form):
    def __init__(self, team, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.actor = actor
        self.fields["member"] = _MemberField(team, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("member")
        if user is None:
            return cleaned
        target = self.team.memberships.get(user=user)
        if target.role == Role.OWNER:
            if self.actor.role != Role.OWNER:
                raise ValidationError("Only an owner can remove an owner.", code="owner_only")
            if _owner_count(self.team) <= 1:
                raise ValidationError(LAST_OWNER, code="last_owner")
        cleaned["membership"] = target
        return cleaned


class TransferOwnershipForm(forms.Form):
    new_owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        to_field_name="email",
        label="New owner",
        empty_label="Choose a member…",
        help_text="They become an owner; you stay in the team as an admin.",
        error_messages={"invalid_choice": "Choose someone who is in the team."},
    )

    def __init__(self, team, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = (
            User.objects.filter(memberships__team=team).exclude(pk=actor.user_id).order_by("email")
        )


class DeleteTeamForm(forms.Form):
    confirm = forms.CharField(label="Type the team name to confirm", max_length=100)

    def __init__(self, team, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["confirm"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip()
        if value != self.team.name.strip():
            raise ValidationError(
                f"Type the team name “{self.team.name}” exactly to delete the team.",
                code="mismatch",
            )
        return value


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label="Role", initial=Role.MEMBER)

    def __init__(self, team, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["role"].choices = role_choices_for(actor.role)
        self.fields[
            "role"
        ].help_text = "Viewers look, members generate, admins manage people and the API key."

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if self.team.memberships.filter(user__email__iexact=email).exists():
            raise ValidationError("This person is already in the team.", code="member")
        return email


# --- credentials -----------------------------------------------------------------------------


class _SecretInput(forms.PasswordInput):
    """Write-only: a submitted value is never rendered back into the page."""

    def __init__(self, attrs=None):
        attrs = {"autocomplete": "off", "spellcheck": "false", **(attrs or {})}
        super().__init__(attrs=attrs, render_value=False)


class _SecretField(forms.CharField):
    """A credential: write-only (never rendered back), optional, and one token (no spaces)."""

    def __init__(self, *, what, **kwargs):
        self.what = what
        super().__init__(required=False, max_length=256, widget=_SecretInput(), **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if any(ch.isspace() for ch in value):
            raise ValidationError(f"The {self.what} cannot contain spaces.", code="space")
        return value


def backend_choices():
    if settings.AKOOL_SANDBOX:
        return [
            (Backend.SANDBOX, "Sandbox — built-in emulator, free, makes placeholder images"),
            (Backend.AKOOL, "Akool — your own API key, real images, uses your credits"),
        ]
    return [(Backend.AKOOL, "Akool — your own API key, real images, uses your credits")]


class CredentialsForm(forms.Form):
    backend = forms.ChoiceField(label="Connect to", widget=forms.RadioSelect)
    api_key = _SecretField(
        what="API key",
        label="API key",
        help_text="From Akool → API Credentials. Stored encrypted; it is never shown again.",
    )
    client_id = _SecretField(
        what="clientId",
        label="clientId (optional)",
        help_text="Needed for webhooks (Akool signs them with it) and for token authentication.",
    )
    use_token_auth = forms.BooleanField(
        label="Use token authentication (legacy: clientId + API key → bearer token)",
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = backend_choices()
        self.fields["backend"].choices = choices
        if len(choices) == 1:
            self.fields["backend"].initial = choices[0][0]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("backend") != Backend.AKOOL:
            return cleaned
        if "api_key" in cleaned and not cleaned["api_key"]:
            self.add_error("api_key", "Enter the API key from Akool's API Credentials page.")
        if cleaned.get("use_token_auth") and not cleaned.get("client_id"):
            self.add_error("client_id", "Token authentication needs the clientId.")
        return cleaned
