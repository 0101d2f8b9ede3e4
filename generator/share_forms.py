"""The forms of share links: making or editing one, and a team's sharing settings."""

from django import forms

from .models import EXPIRY_CHOICES, Team
from .models.shares import DEFAULT_EXPIRY, NEVER

KEEP = ""
NEVER_REFUSED = "This team does not allow links that never expire; an admin can allow them."


class ShareLinkForm(forms.Form):
    """Make a link (`link` None) or edit one: a new expiry counts from now."""

    expiry = forms.ChoiceField(label="Expires after", choices=EXPIRY_CHOICES)
    password = forms.CharField(
        label="Password",
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional. Visitors must type it before they see anything.",
    )
    remove_password = forms.BooleanField(label="Remove the password", required=False)
    allow_download = forms.BooleanField(label="Allow downloading the original", required=False)
    show_prompt = forms.BooleanField(label="Show the prompt and settings", required=False)

    def __init__(self, team, *args, link=None, **kwargs):
        kwargs.setdefault("auto_id", f"share-{link.code if link else 'new'}-%s")
        if link is None:
            kwargs.setdefault("initial", {"expiry": DEFAULT_EXPIRY, "allow_download": True})
        else:
            kwargs.setdefault(
                "initial",
                {"allow_download": link.allow_download, "show_prompt": link.show_prompt},
            )
        super().__init__(*args, **kwargs)
        self.team = team
        self.link = link
        choices = list(EXPIRY_CHOICES)
        if link is None:
            del self.fields["remove_password"]
        else:
            choices = [(KEEP, "Keep the current expiry"), *choices]
            self.fields["expiry"].required = False
            self.fields["password"].label = "New password"
            self.fields["password"].help_text = "Leave empty to keep the current one."
        expiry = self.fields["expiry"]
        expiry.choices = choices
        # "Never" stays a valid value, so a crafted post is refused with the team's rule
        # (clean_expiry) rather than "not one of the choices"; the menu offers it only if allowed.
        if not team.share_never_expires_allowed:
            expiry.widget.choices = [c for c in choices if c[0] != NEVER]

    def clean_expiry(self):
        expiry = self.cleaned_data["expiry"]
        # The choice is absent from the list when refused; a crafted post still gets a reason.
        if expiry == NEVER and not self.team.share_never_expires_allowed:
            raise forms.ValidationError(NEVER_REFUSED)
        return expiry

    def apply(self, link):
        """Copy the edit onto `link`; returns the names of what changed (for the audit)."""
        data = self.cleaned_data
        changed = []
        if data["expiry"] != KEEP:
            link.set_expiry(data["expiry"])
            changed.append("expiry")
        if data["password"]:
            link.set_password(data["password"])
            changed.append("protection")
        elif data.get("remove_password") and link.has_password:
            link.set_password("")
            changed.append("protection")
        for name in ("allow_download", "show_prompt"):
            if getattr(link, name) != data[name]:
                setattr(link, name, data[name])
                changed.append(name)
        return changed


class SharingSettingsForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("sharing_enabled", "share_never_expires_allowed")
        help_texts = {
            "sharing_enabled": "When off, no new links can be made and every existing link "
            "stops working until it is turned on again.",
        }
