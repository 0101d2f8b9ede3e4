"""Why a job ended without an image, in words a person can act on, and whether asking again
can help.

One table, `REASONS`: each cause has the sentence its card shows ("{detail}" is what the code
that recorded it knew: Akool's code as a sentence, the HTTP status a source link answered) and
whether a retry can succeed. A retry that cannot succeed is not offered: the sentence says what
to change instead. Akool's own codes reach a cause through `failure_for`.
"""

from dataclasses import dataclass

from django.db import models

from ..akool.errors import AkoolError, ErrorKind


class Failure(models.TextChoices):
    BUSY = "busy", "Akool busy or unreachable"
    AKOOL_FAILED = "akool_failed", "Akool reported a failure"
    STUCK = "stuck", "Akool never finished"
    SHORT = "short", "Fewer images than asked for"
    UNSAVABLE = "unsavable", "The result could not be saved"
    EXPIRED = "expired", "The result link expired"
    UNKNOWN = "unknown", "Outcome unknown"
    LOST = "lost", "Akool lost the job"
    INVALID = "invalid", "Invalid settings"
    SOURCE = "source", "Source image unreachable"
    NO_CREDITS = "no_credits", "No credits"
    BAD_KEY = "bad_key", "Invalid API key"
    ACCOUNT = "account", "Akool account restriction"
    NOT_ALLOWED = "not_allowed", "Not possible on this image"
    ORPHANED = "orphaned", "Parent image deleted"


@dataclass(frozen=True)
class Reason:
    text: str
    retryable: bool


REASONS = {
    Failure.BUSY: Reason(
        "{detail} Several tries failed, so nothing was made or charged; try again in a few "
        "minutes.",
        True,
    ),
    Failure.AKOOL_FAILED: Reason(
        "Akool could not generate this image (it reported a failure). Try again, perhaps with a "
        "different prompt.",
        True,
    ),
    Failure.STUCK: Reason(
        "Akool did not finish this image within {detail}, so it was given up. Try again.", True
    ),
    Failure.SHORT: Reason("Akool returned fewer images than requested. Try again.", True),
    Failure.UNSAVABLE: Reason(
        "The image Akool made could not be saved ({detail}). Try again for a new one.", True
    ),
    Failure.EXPIRED: Reason(
        "The result link expired before the image could be saved. Try again to make it afresh.",
        True,
    ),
    Failure.UNKNOWN: Reason("{detail} Retry if you want to try again.", True),
    Failure.LOST: Reason("{detail} Akool no longer knows this job; try again.", True),
    Failure.INVALID: Reason("{detail} Change the prompt or settings and generate again.", False),
    Failure.SOURCE: Reason(
        "Akool could not fetch the source image: {detail}. Use another source image and "
        "generate again.",
        False,
    ),
    Failure.NO_CREDITS: Reason("{detail} Add credits in Akool, then generate again.", False),
    Failure.BAD_KEY: Reason(
        "{detail} An admin must update the key in Team settings, then generate again.", False
    ),
    Failure.ACCOUNT: Reason(
        "{detail} The Akool account's owner must sort this out in Akool first.", False
    ),
    Failure.NOT_ALLOWED: Reason("{detail} Pick another image or button.", False),
    Failure.ORPHANED: Reason(
        "The image this was made from has been deleted, so it cannot be sent to Akool.", False
    ),
}

# Akool's body codes (docs/akool-api.md §6) by what the person can do about them. The
# transient ones (1005, 1108, 2001) end a job only after the submit's own retries ran out.
CODE_FAILURES = {
    1003: Failure.INVALID,
    1005: Failure.BUSY,
    1108: Failure.BUSY,
    2001: Failure.BUSY,
    1006: Failure.NO_CREDITS,
    1103: Failure.NO_CREDITS,
    1104: Failure.NO_CREDITS,
    1101: Failure.BAD_KEY,
    1102: Failure.BAD_KEY,
    1109: Failure.BAD_KEY,
    1004: Failure.ACCOUNT,
    1009: Failure.ACCOUNT,
    1200: Failure.ACCOUNT,
    1213: Failure.ACCOUNT,
    1221: Failure.ACCOUNT,
    1008: Failure.LOST,
    1014: Failure.LOST,
    1010: Failure.NOT_ALLOWED,
    1011: Failure.NOT_ALLOWED,
}


def failure_for(error: AkoolError) -> Failure:
    """The cause of a failed Akool call. A code we do not know counts as a rejected request:
    asking again unchanged would only be rejected again."""
    if error.code is not None:
        return CODE_FAILURES.get(error.code, Failure.INVALID)
    if error.kind == ErrorKind.UNKNOWN:
        return Failure.UNKNOWN
    if error.kind == ErrorKind.TRANSIENT:
        return Failure.BUSY
    return Failure.INVALID


def describe(failure, detail=""):
    """The sentence a card shows for `failure`. `detail` fills the reason's "{detail}": a
    whole sentence where the slot starts the text, a clause (its full stop dropped) inside."""
    text = REASONS[Failure(failure)].text
    detail = detail.strip()
    if not text.startswith("{detail}"):
        detail = detail.rstrip(".")
    return text.format(detail=detail).strip()


def retryable(failure):
    return REASONS[Failure(failure)].retryable
