"""What is worth telling, and to whom: each happening becomes one delivery per channel that
subscribed to it (and per person who asked for email), queued for the worker.

A happening has a `key`; a channel gets one delivery per key (a unique constraint), so when two
workers notice the same thing at once (the last two images of a generation stored together),
the channel still hears of it once.
"""

import functools
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from .. import budgets
from ..akool.errors import ERROR_MESSAGES
from ..models import PENDING_STATES, Delivery, Event, Job, State, User
from ..queue import enqueue

log = logging.getLogger(__name__)

KEY_CODES = frozenset({1101, 1102})
# Banned, or out of credit / quota.
ACCOUNT_CODES = frozenset({1200, 1104, 1006})
PROMPT_CHARS = 120


def _link(path):
    """An absolute link into the app, or "" when the app does not know its public address."""
    return f"{settings.PUBLIC_BASE_URL}{path}" if settings.PUBLIC_BASE_URL else ""


def emit(team, event, key, title, text, *, path="", data=None, recipients=(), channels=None):
    """Queue one delivery of this happening to each of `team`'s channels that want `event`
    (or to `channels`), and to each of `recipients` by email. Returns the new deliveries."""
    payload = {
        "team": {"code": str(team.code), "name": team.name},
        "title": title,
        "text": text,
        "url": _link(path) if path else "",
        "data": data or {},
    }
    targets = [{"channel": c} for c in (channels or team.channels.all()) if c.wants(event)]
    targets += [{"recipient": person} for person in recipients]
    created = []
    for target in targets:
        try:
            # A savepoint: the duplicate a racing worker made must not spoil the caller's
            # transaction.
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    team=team, event=event, key=key, payload=payload, **target
                )
        except IntegrityError:
            continue
        created.append(delivery)
        from .tasks import deliver

        enqueue(deliver, delivery.pk)
    return created


def quietly(func):
    """For hooks called after the action they report has happened: a failure to tell must not
    turn that action into an error page, so it is only logged."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:
            log.exception("notification hook %s failed", func.__name__)
            return None

    return wrapper


def _hour():
    return timezone.now().strftime("%Y-%m-%dT%H")


# --- the generation pipeline -----------------------------------------------------------------


@quietly
def job_settled(job):
    """A job reached an end state: tell of Akool refusing the team's key or account, and, when
    it was the generation's last job in flight, of the generation."""
    # The common case, nobody listening, costs one query rather than a handful.
    listening = job.team.channels.filter(enabled=True).exists()
    mail_author = User.objects.filter(
        pk=job.author_id, notify_email=True, memberships__team_id=job.team_id
    ).exists()
    if not (listening or mail_author):
        return
    _akool_trouble(job)
    jobs = Job.objects.filter(generation_id=job.generation_id)
    states = list(jobs.values_list("state", flat=True))
    if not states or any(state in PENDING_STATES for state in states):
        return
    done = states.count(State.DONE)
    generation = job.generation
    author = job.author
    who = author.display_name if author else "A former member"
    prompt = Truncator(generation.prompt).chars(PROMPT_CHARS)
    images = f"{len(states)} image{'' if len(states) == 1 else 's'}"
    if done:
        event = Event.GENERATION_DONE
        title = f"{images.capitalize()} ready"
        if done < len(states):
            title = f"{done} of {images} ready"
        text = f"{who}’s generation finished: “{prompt}”"
    else:
        event = Event.GENERATION_FAILED
        title = "Generation failed"
        text = f"{who}’s generation failed: “{prompt}”. {job.error_message}".strip()
    emit(
        job.team,
        event,
        # A U/V child joins its generation later: a new count is a new happening.
        f"generation:{generation.code}:{len(states)}",
        title,
        text,
        path=reverse("image_detail", args=[job.team.code, job.code]),
        data={
            "generation": str(generation.code),
            "images": len(states),
            "done": done,
            "failed": len(states) - done,
            "author": author.email if author else "",
        },
        recipients=[author] if mail_author else (),
    )


def _akool_trouble(job):
    code = job.error_code
    if code in KEY_CODES:
        event, title = Event.KEY_INVALID, "Akool rejected the team's API key"
        advice = "An admin must update the key in Team settings."
    elif code in ACCOUNT_CODES:
        event, title = Event.ACCOUNT, "Akool account problem"
        advice = "The Akool account's owner must sort this out in Akool."
    else:
        return
    # At most one message an hour per cause: every generation fails alike until it is mended.
    emit(
        job.team,
        event,
        f"akool:{code}:{_hour()}",
        title,
        f"{ERROR_MESSAGES.get(code, f'Akool error {code}.')} {advice}",
        path=reverse("team_settings", args=[job.team.code]),
        data={"code": code},
    )


# --- budgets, shares, tests --------------------------------------------------------------------

BUDGET_EVENTS = ((100, Event.BUDGET_100), (budgets.WARN_AT_PERCENT, Event.BUDGET_80))


@quietly
def budget_checked(team):
    """After a start reserved credits: tell when the month's budget crossed 80 % or 100 %.
    Once per month, threshold and budget (raising the budget can warn again)."""
    if team.monthly_budget is None:
        return
    usage = budgets.team_usage(team)
    start, _ = team.month_window()
    for threshold, event in BUDGET_EVENTS:
        if usage.percent >= threshold:
            emit(
                team,
                event,
                f"budget:{start:%Y-%m}:{threshold}:{usage.limit}",
                f"{team.name} has used {usage.percent} % of its {usage.month} budget",
                f"{usage.used} of {usage.limit} credits are used or reserved in {usage.month}.",
                path=reverse("usage", args=[team.code]),
                data={"used": usage.used, "limit": usage.limit, "percent": usage.percent},
            )
            return


@quietly
def share_created(link, user):
    """A share link was made. The link itself is a secret and is never sent."""
    images = link.jobs.count()
    expiry = f"until {link.expires_at:%Y-%m-%d %H:%M} UTC" if link.expires_at else "with no expiry"
    emit(
        link.team,
        Event.SHARE_CREATED,
        f"share:{link.code}",
        "Share link created",
        f"{user.display_name} shared {images} image{'' if images == 1 else 's'} outside the app, "
        f"{expiry}.",
        path=reverse("share_list", args=[link.team.code]),
        data={"share": str(link.code), "images": images, "by": user.email},
    )


def send_test(channel, user):
    return emit(
        channel.team,
        Event.TEST,
        f"test:{uuid.uuid4()}",
        "Test message from akool-web",
        f"{user.display_name} sent this test to the channel “{channel.name}”. It works.",
        channels=[channel],
    )[0]
