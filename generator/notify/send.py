"""Carrying one delivery to its destination: Slack, Microsoft Teams and Discord through apprise,
email through Django's mail, and generic webhooks signed by us.

Every destination passes the SSRF guard (lib/ssrf.py). A signed webhook goes through the
guarded session, which vets and pins every connection. Apprise opens its own connections, so
the host it will post to (fixed by apprise for Slack and Discord, the admin's for Teams) is
checked just before the send, and apprise is told not to follow redirects; what remains is the
moment between that check and apprise's own DNS lookup.

Errors are SendError, whose text is fit for the delivery log: it never holds the channel's
address, which is a secret (apprise's own log lines do, so they are read only for the HTTP
status and never stored).
"""

import json
import logging
import re
from urllib.parse import urlsplit

import apprise
import requests
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack, SlackMode
from apprise.plugins.workflows import NotifyWorkflows
from django.conf import settings
from django.core.mail import send_mail
from django.core.validators import EmailValidator, ValidationError

from ..lib import signing, ssrf
from ..models import ChannelKind

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = (5, 15)  # connect, read (seconds)
MAX_EMAIL_RECIPIENTS = 10
APPRISE_PLUGINS = {
    ChannelKind.SLACK: NotifySlack,
    ChannelKind.TEAMS: NotifyWorkflows,
    ChannelKind.DISCORD: NotifyDiscord,
}
USER_AGENT = "akool-web notifications"


class SendError(Exception):
    """A delivery that did not get through. `permanent`: trying again cannot help (the
    address is refused by the guard, or no longer understood)."""

    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# --- checking an address (the channel form uses these too) ---------------------------------


def chat_plugin(kind, url):
    """The apprise plugin for `url`, which must be a `kind` webhook; raises ValueError with a
    sentence when it is not one."""
    label = ChannelKind(kind).label
    plugin = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(http_redirects=False))
    if not isinstance(plugin, APPRISE_PLUGINS[kind]):
        raise ValueError(f"This is not a {label} webhook URL; copy it from {label} again.")
    if kind == ChannelKind.SLACK and plugin.mode not in (SlackMode.WEBHOOK, SlackMode.WEBHOOK_GOV):
        raise ValueError("Use a Slack incoming-webhook URL (https://hooks.slack.com/services/…).")
    return plugin


def chat_destination(plugin):
    """The address apprise will post to for `plugin`, as a URL of its origin."""
    if isinstance(plugin, NotifySlack):
        gov = plugin.mode == SlackMode.WEBHOOK_GOV
        return plugin.webhook_gov_url if gov else plugin.webhook_url
    if isinstance(plugin, NotifyDiscord):
        return plugin.notify_url
    port = f":{plugin.port}" if plugin.port else ""
    return f"https://{plugin.host}{port}/"


def destination_host(kind, target):
    """The host a channel posts to, for pages to show instead of its secret address."""
    if kind == ChannelKind.EMAIL:
        count = len(email_addresses(target))
        return f"{count} address{'' if count == 1 else 'es'}"
    url = chat_destination(chat_plugin(kind, target)) if kind in APPRISE_PLUGINS else target
    return urlsplit(url).hostname or ""


def email_addresses(text):
    """The addresses of an email channel (commas, semicolons or spaces between them); raises
    ValueError naming the first one that is not an address."""
    addresses = [a for a in re.split(r"[\s,;]+", text or "") if a]
    if not addresses:
        raise ValueError("Enter at least one email address.")
    if len(addresses) > MAX_EMAIL_RECIPIENTS:
        raise ValueError(f"At most {MAX_EMAIL_RECIPIENTS} addresses per channel.")
    for address in addresses:
        try:
            EmailValidator()(address)
        except ValidationError:
            raise ValueError(f"“{address[:80]}” is not an email address.") from None
    return addresses


def check_target(kind, target):
    """Raise ValueError with a sentence unless `target` is a usable address for `kind`."""
    if kind == ChannelKind.EMAIL:
        email_addresses(target)
        return
    url = chat_destination(chat_plugin(kind, target)) if kind in APPRISE_PLUGINS else target
    try:
        ssrf.check_public_url(url)
    except ssrf.UnsafeURL as refusal:
        raise ValueError(str(refusal)) from None


# --- sending ---------------------------------------------------------------------------------


def send(delivery):
    """Carry `delivery` (its channel, or its recipient's mailbox); raises SendError."""
    channel = delivery.channel
    payload = delivery.payload
    if channel is None:
        _mail([delivery.recipient.email], payload)
    elif channel.kind == ChannelKind.EMAIL:
        _mail(email_addresses(channel.target), payload)
    elif channel.kind == ChannelKind.WEBHOOK:
        _webhook(channel, webhook_body(delivery))
    else:
        _chat(channel, payload)


def _text(payload):
    link = payload.get("url") or ""
    return payload["text"] + (f"\n{link}" if link else "")


def _mail(addresses, payload):
    try:
        send_mail(
            payload["title"][:200],
            _text(payload),
            settings.DEFAULT_FROM_EMAIL,
            addresses,
        )
    except Exception as error:  # smtplib and socket errors alike; the type says enough
        name = type(error).__name__
        raise SendError(f"The mail server did not take the message ({name}).") from None


def webhook_body(delivery):
    """The JSON a signed webhook posts: the happening, for machines to act on."""
    payload = delivery.payload
    body = {
        "id": f"{delivery.key}:{delivery.pk}",
        "event": delivery.event,
        "team": payload.get("team", {}),
        "title": payload["title"],
        "text": payload["text"],
        "url": payload.get("url", ""),
        "data": payload.get("data", {}),
        "created_at": delivery.created_at.isoformat(),
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def _webhook(channel, body):
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(channel.signing_secret, body),
    }
    host = urlsplit(channel.target).hostname or "the receiver"
    try:
        with ssrf.guarded_session() as session:
            response = session.post(
                channel.target,
                data=body,
                headers=headers,
                timeout=WEBHOOK_TIMEOUT,
                allow_redirects=False,
            )
    except ssrf.UnsafeURL as refusal:
        raise SendError(str(refusal), permanent=True) from None
    except requests.Timeout:
        raise SendError(f"{host} did not answer in time.") from None
    except requests.RequestException:
        raise SendError(f"Could not connect to {host}.") from None
    if not 200 <= response.status_code < 300:
        raise SendError(f"{host} answered HTTP {response.status_code}.")


def _chat(channel, payload):
    label = channel.get_kind_display()
    try:
        plugin = chat_plugin(channel.kind, channel.target)
        ssrf.check_public_url(chat_destination(plugin))
    except (ValueError, ssrf.UnsafeURL) as refusal:
        raise SendError(str(refusal), permanent=True) from None
    # Apprise's warnings say why a send failed; its debug lines hold the secret URL, so the
    # capture stays at WARNING (which also keeps them out of every other log).
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = plugin.notify(body=_text(payload), title=payload["title"])
    if not ok:
        status = re.search(r"error=(\d{3})", captured.getvalue())
        why = f"answered HTTP {status[1]}" if status else "could not be reached"
        raise SendError(f"{label} {why}.")
