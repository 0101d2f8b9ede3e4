"""Forms of notifications: a team's channel (its address write-only, like the Akool key) and a
person's own preferences."""

from django import forms

from .account_forms import _SecretInput
from .models import SUBSCRIBABLE, ChannelKind, User
from .notify.send import check_target, destination_host

TARGET_HELP = {
    ChannelKind.SLACK: "Slack → Apps → Incoming Webhooks: https://hooks.slack.com/services/…",
    ChannelKind.TEAMS: "A Teams workflow “Post to a channel when a webhook request is received”: "
    "its HTTP POST URL.",
    ChannelKind.DISCORD: "Channel settings → Integrations → Webhooks: "
    "https://discord.com/api/webhooks/…",
    ChannelKind.EMAIL: "Up to 10 addresses, separated by commas.",
    ChannelKind.WEBHOOK: "Your endpoint (https://…). Each request is signed; the secret is shown "
    "once, when the channel is saved.",
}


class ChannelForm(forms.Form):
    """Adding a channel (address required) or changing one (`editing`: an empty address keeps
    the saved one, which is never rendered back)."""

    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(label="Send to", choices=ChannelKind.choices, widget=forms.RadioSelect)
    target = forms.CharField(
        label="Webhook URL or email addresses",
        max_length=2000,
        required=False,
        widget=_SecretInput(),
        help_text="Stored encrypted; it is never shown again.",
    )
    events = forms.MultipleChoiceField(
        label="Tell about",
        choices=SUBSCRIBABLE,
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(label="On", required=False, initial=True)

    def __init__(self, *args, channel=None, **kwargs):
        self.channel = channel
        if channel is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": channel.name,
                    "kind": channel.kind,
                    "events": channel.events,
                    "enabled": channel.enabled,
                },
            )
        else:
            kwargs.setdefault("initial", {"events": [value for value, _ in SUBSCRIBABLE]})
        super().__init__(*args, **kwargs)
        if channel is not None:
            # The kind goes with the saved address; another kind is another channel.
            self.fields["kind"].disabled = True
            target = self.fields["target"]
            target.label = "New webhook URL or addresses (empty keeps the saved one)"
            target.help_text = f"{TARGET_HELP[channel.kind]} {target.help_text}"

    @staticmethod
    def target_hints():
        """(kind, its name, where to find its address) for the form to show beside the
        chosen kind."""
        return [(kind, ChannelKind(kind).label, text) for kind, text in TARGET_HELP.items()]

    def clean(self):
        cleaned = super().clean()
        kind, target = cleaned.get("kind"), (cleaned.get("target") or "").strip()
        if not kind:
            return cleaned
        if not target:
            if self.channel is None:
                self.add_error("target", "Enter the address to send to.")
            return cleaned
        try:
            check_target(kind, target)
            cleaned["target_hint"] = destination_host(kind, target)
        except ValueError as problem:
            self.add_error("target", str(problem))
        cleaned["target"] = target
        return cleaned


class NotificationPreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_browser", "notify_email"]
        help_texts = {
            "notify_browser": "Your browser asks once whether this site may show notifications.",
            "notify_email": "A mail to your address when a generation of yours ends.",
        }
