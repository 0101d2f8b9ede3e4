"""A team's notification channels (owners and admins): add, change, remove, send a test, and
read each channel's delivery log. A channel's address is write-only: no page renders it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import audit
from ..access import team_access, team_context
from ..models import AuditAction, Channel, ChannelKind, DeliveryStatus, Role
from ..models.notifications import signing_secret
from ..notification_forms import ChannelForm
from ..notify.events import send_test

LOG_ROWS = 50


def _channel(membership, code):
    return get_object_or_404(Channel, team=membership.team, code=code)


def _log(channel):
    """The delivery log's context: its newest rows, and whether a send is under way."""
    deliveries = list(channel.deliveries.all()[:LOG_ROWS])
    busy = any(d.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) for d in deliveries)
    return {"deliveries": deliveries, "log_busy": busy}


def _list_page(request, form=None, new_secret="", status=200):
    team = request.membership.team
    context = team_context(
        request,
        channels=list(team.channels.all()),
        form=form or ChannelForm(),
        new_secret=new_secret,
    )
    return render(request, "generator/notifications.html", context, status=status)


@require_GET
@login_required
def channel_list(request, team_code):
    team_access(request, team_code, Role.ADMIN)
    return _list_page(request)


@sensitive_post_parameters("target")
@sensitive_variables("form", "target")
@require_POST
@login_required
def channel_create(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = ChannelForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form=form, status=400)
    data = form.cleaned_data
    secret = signing_secret() if data["kind"] == ChannelKind.WEBHOOK else ""
    with transaction.atomic():
        channel = Channel.objects.create(
            team=team,
            name=data["name"],
            kind=data["kind"],
            target=data["target"],
            target_hint=data["target_hint"],
            signing_secret=secret,
            events=data["events"],
            enabled=data["enabled"],
            created_by=request.user,
        )
        audit.record(
            request.user,
            team,
            AuditAction.CHANNEL_ADDED,
            target=channel.name,
            kind=channel.kind,
            host=channel.target_hint,
        )
    if secret:
        # Shown in this one answer only, like a share link's token.
        return _list_page(request, form=ChannelForm(), new_secret=secret)
    messages.success(request, f"Added the channel “{channel.name}”. Use “Send test” to try it.")
    return redirect("channel_list", team.code)


def _detail_page(request, channel, form=None, status=200):
    context = team_context(
        request,
        channel=channel,
        form=form or ChannelForm(channel=channel),
        **_log(channel),
    )
    return render(request, "generator/notification_channel.html", context, status=status)


@sensitive_post_parameters("target")
@sensitive_variables("form", "target")
@require_http_methods(["GET", "POST"])
@login_required
def channel_detail(request, team_code, channel_code):
    membership = team_access(request, team_code, Role.ADMIN)
    channel = _channel(membership, channel_code)
    if request.method == "GET":
        return _detail_page(request, channel)
    form = ChannelForm(request.POST, channel=channel)
    if not form.is_valid():
        return _detail_page(request, channel, form=form, status=400)
    data = form.cleaned_data
    changed = ["name", "events", "enabled"]
    with transaction.atomic():
        channel.name = data["name"]
        channel.events = data["events"]
        channel.enabled = data["enabled"]
        if data["target"]:
            channel.target = data["target"]
            channel.target_hint = data["target_hint"]
            changed += ["target", "target_hint"]
        channel.save()
        audit.record(
            request.user,
            membership.team,
            AuditAction.CHANNEL_CHANGED,
            target=channel.name,
            address_replaced="target" in changed,
            enabled=channel.enabled,
        )
    messages.success(request, f"Saved the channel “{channel.name}”.")
    return redirect("channel_detail", membership.team.code, channel.code)


@require_POST
@login_required
def channel_delete(request, team_code, channel_code):
    membership = team_access(request, team_code, Role.ADMIN)
    channel = _channel(membership, channel_code)
    with transaction.atomic():
        audit.record(
            request.user, membership.team, AuditAction.CHANNEL_REMOVED, target=channel.name
        )
        channel.delete()
    messages.success(request, f"Removed the channel “{channel.name}” and its delivery log.")
    return redirect("channel_list", membership.team.code)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def channel_test(request, team_code, channel_code):
    membership = team_access(request, team_code, Role.ADMIN)
    channel = _channel(membership, channel_code)
    send_test(channel, request.user)
    message = "Test message queued; its result appears in the delivery log below."
    if request.htmx:
        context = team_context(request, channel=channel, test_message=message, **_log(channel))
        return render(request, "generator/notification_channel.html#log", context)
    messages.success(request, message)
    return redirect(reverse("channel_detail", args=[membership.team.code, channel.code]) + "#log")


@vary_on_headers("HX-Request")
@require_GET
@login_required
def channel_log(request, team_code, channel_code):
    """The delivery log alone, for the page to refresh while a test is under way."""
    membership = team_access(request, team_code, Role.ADMIN)
    channel = _channel(membership, channel_code)
    context = team_context(request, channel=channel, **_log(channel))
    if request.htmx:
        return render(request, "generator/notification_channel.html#log", context)
    return redirect(reverse("channel_detail", args=[membership.team.code, channel.code]) + "#log")
