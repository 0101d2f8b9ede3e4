"""What the API answers with, as ninja schemas (they document the OpenAPI responses too)."""

from datetime import datetime
from uuid import UUID

from django.urls import reverse
from ninja import Schema

from ..models import Job


class ImageOut(Schema):
    code: UUID
    generation: UUID
    state: str
    state_label: str
    prompt: str
    mode: str
    resolution: str
    scale: str
    index: int
    button: str
    parent: UUID | None
    author: str | None
    api_token: str | None
    width: int | None
    height: int | None
    format: str
    credits: int | None
    error: str
    buttons: list[str]
    created_at: datetime
    stored_at: datetime | None
    url: str
    original_url: str | None


class GenerationOut(Schema):
    code: UUID
    prompt: str
    negative_prompt: str
    mode: str
    model_name: str
    scale: str
    resolution: str
    batch: int
    similar: float | None
    created_at: datetime
    done: bool
    images: list[ImageOut]


class ImagePage(Schema):
    items: list[ImageOut]
    next_cursor: str | None


class UsageRow(Schema):
    label: str
    images: int
    credits: int
    reserved: int


class UsageSection(Schema):
    slug: str
    title: str
    rows: list[UsageRow]


class BudgetOut(Schema):
    used: int
    limit: int | None
    left: int | None


class UsageOut(Schema):
    month: str
    start: datetime
    end: datetime
    total: UsageRow
    sections: list[UsageSection]
    team_budget: BudgetOut
    token_cap: BudgetOut


def image_out(job: Job):
    """A job as ImageOut; `job` has generation, author and api_token loaded (and parent's
    code reachable)."""
    done = job.state == "done"
    credits = job.deduction_credit if job.deduction_credit is not None else job.estimated_credit
    return {
        "code": job.code,
        "generation": job.generation.code,
        "state": job.state,
        "state_label": job.get_state_display(),
        "prompt": job.generation.prompt,
        "mode": job.generation.mode,
        "resolution": job.generation.resolution,
        "scale": job.generation.scale,
        "index": job.index,
        "button": job.button,
        "parent": job.parent.code if job.parent_id and job.parent else None,
        "author": job.author.email if job.author else None,
        "api_token": job.api_token.name if job.api_token else None,
        "width": job.width,
        "height": job.height,
        "format": job.format,
        "credits": credits,
        "error": job.error_message if job.state != "done" else "",
        "buttons": job.available_buttons if done else [],
        "created_at": job.created_at,
        "stored_at": job.stored_at,
        "url": reverse("api-1:image", args=[job.code]),
        "original_url": reverse("api-1:image_original", args=[job.code]) if done else None,
    }


def generation_out(generation, jobs):
    return {
        **generation.parameters,
        "code": generation.code,
        "created_at": generation.created_at,
        "done": not any(job.is_pending for job in jobs),
        "images": [image_out(job) for job in jobs],
    }


def usage_out(report, team_usage, token_usage):
    def row(r):
        return {"label": r.label, "images": r.images, "credits": r.credits, "reserved": r.reserved}

    def budget(u):
        return {"used": u.used, "limit": u.limit, "left": u.left}

    return {
        "month": report.month_label,
        "start": report.start,
        "end": report.end,
        "total": row(report.total),
        "sections": [
            {"slug": s.slug, "title": s.title, "rows": [row(r) for r in s.rows]}
            for s in report.sections
        ],
        "team_budget": budget(team_usage),
        "token_cap": budget(token_usage),
    }
