"""Akool's answers decoded into typed results: the job a create call made (`ImageJob`) and a
job's status (`ImageResult`), decoded once whether a poll or a webhook reported it.

Protocol reference: docs/akool-api.md (section numbers below point into it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def int_or_none(value: Any) -> int | None:
    # bool is an int subclass; a JSON `true` is not a number here.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Malformed(Exception):
    """A `code: 1000` answer whose `data` we cannot read."""


@dataclass(frozen=True)
class ImageJob:
    """One record from a create or createbybutton call (§4.1, §4.3)."""

    id: str
    status: int
    deduction_credit: int | None
    model_name: str
    sub_type: int | None
    create_time: int | None
    parent_id: str | None
    button: str | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_data(cls, data: Any) -> ImageJob:
        if not isinstance(data, dict):
            raise Malformed("job record is not an object")
        job_id = nonempty_str(data.get("_id"))
        if job_id is None:
            raise Malformed("job record has no _id")
        status = int_or_none(data.get("image_status"))
        return cls(
            id=job_id,
            # The batch example omits fields; a fresh job is queued (1) per §3/§4.1.
            status=1 if status is None else status,
            deduction_credit=int_or_none(data.get("deduction_credit")),
            model_name=data.get("model_name") if isinstance(data.get("model_name"), str) else "",
            sub_type=int_or_none(data.get("sub_type")),
            create_time=int_or_none(data.get("create_time")),
            parent_id=nonempty_str(data.get("image_content_model_id")),
            button=nonempty_str(data.get("op_button")),
            raw=data,
        )


# Akool's job states (§3), as polls report `image_status` and webhooks `status`.
STATUS_QUEUED = 1
STATUS_PROCESSING = 2
STATUS_COMPLETED = 3
STATUS_FAILED = 4
STATUSES = frozenset({STATUS_QUEUED, STATUS_PROCESSING, STATUS_COMPLETED, STATUS_FAILED})
# No image costs anywhere near this; a larger `deduction_credit` is junk, not a charge.
MAX_DEDUCTION_CREDIT = 10_000


class InvalidResult(ValueError):
    """A status report (poll answer or webhook payload) whose values cannot be trusted."""


@dataclass(frozen=True)
class ImageResult:
    """Akool's status of one job, decoded once whether a poll (§4.4) or a webhook (§5.2)
    reported it. `status`: 1 queued, 2 processing, 3 completed, 4 failed.

    `buttons` and `used_buttons` are None when the report does not carry them: webhooks never
    do, so a job finished by webhook must ask for them with one poll.
    """

    id: str
    status: int
    image_url: str | None
    upscaled_urls: list[str]
    buttons: list[str] | None
    used_buttons: list[str] | None
    deduction_credit: int | None
    raw: dict = field(repr=False, compare=False)

    @property
    def available_buttons(self) -> list[str]:
        # §4.3: the official demo shows `buttons` may keep listing used ones; check both.
        used = set(self.used_buttons or ())
        return [button for button in self.buttons or () if button not in used]

    @classmethod
    def from_data(cls, data: Any) -> ImageResult:
        if not isinstance(data, dict):
            raise Malformed("result is not an object")
        job_id = nonempty_str(data.get("_id"))
        status = int_or_none(data.get("image_status"))
        if job_id is None or status is None:
            raise Malformed("result has no _id or image_status")
        upscaled = str_list(data.get("upscaled_urls"))
        # §5.1: docs say `image`; v3 sets and some v4 jobs only fill `upscaled_urls`;
        # the official demo also falls back to `external_img`.
        image_url = (
            nonempty_str(data.get("image"))
            or (upscaled[0] if upscaled else None)
            or nonempty_str(data.get("external_img"))
        )
        return cls(
            id=job_id,
            status=status,
            image_url=image_url,
            upscaled_urls=upscaled,
            buttons=str_list(data.get("buttons")),
            used_buttons=str_list(data.get("used_buttons")),
            deduction_credit=int_or_none(data.get("deduction_credit")),
            raw=data,
        )

    @classmethod
    def from_webhook(cls, payload: dict) -> ImageResult:
        """A verified, decrypted webhook payload (§5.2). Raises InvalidResult for values that
        must not touch a job: a webhook is signed with the team's key, which is no reason to
        trust a negative charge or a file:// link."""
        job_id = payload.get("_id")
        status = payload.get("status")
        if not isinstance(job_id, str) or not job_id or len(job_id) > 64:
            raise InvalidResult("The webhook names no valid job id.")
        if isinstance(status, bool) or status not in STATUSES:
            raise InvalidResult(f"The webhook status {status!r} is not one Akool uses.")
        credit = payload.get("deduction_credit")
        if credit is not None and (
            isinstance(credit, bool)
            or not isinstance(credit, int)
            or not 0 <= credit <= MAX_DEDUCTION_CREDIT
        ):
            raise InvalidResult("The webhook's deduction_credit is not a plausible charge.")
        url = payload.get("url")
        if url is not None and url != "":
            if not isinstance(url, str) or len(url) > 4000:
                raise InvalidResult("The webhook's url is not a string.")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidResult("The webhook's url is not an http(s) address.")
        return cls(
            id=job_id,
            status=status,
            image_url=url or None,
            upscaled_urls=[],
            buttons=None,
            used_buttons=None,
            deduction_credit=credit,
            raw=payload,
        )
