"""POST /generations and GET /generations/{code}: the studio's form and starter, over HTTP.

A submit goes through the same GenerationForm and `start_generation` as the page, so budgets,
role rules and validation are the page's. With an Idempotency-Key, the key, the token and a
fingerprint of the request are stored in the transaction that creates the generation: a retry
finds them and answers with the same generation; a different request under the same key is
refused; a refused submit stores no key, so it can be corrected and sent again.
"""

import hashlib
import json
from contextlib import contextmanager
from uuid import UUID

from django.db import IntegrityError, transaction
from django.http import HttpResponse, QueryDict
from django.urls import reverse
from ninja import Router, Schema
from ninja.responses import Status

from .. import budgets, moderation
from ..forms import GenerationForm
from ..lib.storage import StorageUnavailable
from ..models import Generation, IdempotencyKey, Job, Role, Scope
from ..starters import start_generation
from .problems import Problem
from .schemas import GenerationOut, generation_out

router = Router(tags=["generations"])

IDEMPOTENCY_KEY_MAX = 255
JOB_FIELDS = ("generation", "author", "api_token", "parent")


class GenerationIn(Schema):
    """The studio form's fields. Send JSON, or multipart/form-data to upload `source_file`."""

    prompt: str
    negative_prompt: str = ""
    mode: str = "t2i"
    model_name: str = ""
    scale: str = "1:1"
    resolution: str = "4k"  # the team's default resolution when left out
    batch: int = 1
    similar: float | None = None
    source_url: str = ""
    board: UUID | None = None


def _request_fields(request, team):
    """(data QueryDict, files) from a JSON or multipart body, as the form reads them, with
    the form's initial values for what the request leaves out (a page always sends them)."""
    if request.content_type == "multipart/form-data":
        data, files = request.POST.copy(), request.FILES
    else:
        data, files = _json_fields(request), {}
    defaults = {"mode": "t2i", "scale": "1:1", "resolution": team.default_resolution, "batch": 1}
    for name, value in defaults.items():
        if not data.get(name):
            data[name] = str(value)
    return data, files


def _json_fields(request):
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object of the generation's fields.")
    data = QueryDict(mutable=True)
    for name, value in body.items():
        if value is None:
            continue
        data[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return data


def _fingerprint(data, files):
    digest = hashlib.sha256()
    for name in sorted(data):
        digest.update(json.dumps([name, data.getlist(name)]).encode())
    for name in sorted(files):
        upload = files[name]
        digest.update(name.encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def _form_problem(form):
    errors = {field: [str(e) for e in messages] for field, messages in form.errors.items()}
    first = next(iter(errors.values()))[0]
    return Problem(422, first, errors=errors)


def _answer(generation, replayed=False):
    jobs = list(Job.objects.kept().filter(generation=generation).select_related(*JOB_FIELDS))
    headers = {"Location": reverse("api-1:generation", args=[generation.code])}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return generation_out(generation, jobs), headers


def _replay(caller, key, fingerprint):
    """The stored answer for `key`, or None when the key is new."""
    found = (
        IdempotencyKey.objects.current(caller.token)
        .filter(key=key)
        .select_related("generation")
        .first()
    )
    if found is None:
        return None
    if found.fingerprint != fingerprint:
        raise Problem(
            422,
            "This Idempotency-Key was used for a different request; use a new key.",
        )
    return _answer(found.generation, replayed=True)


@router.post(
    "/generations",
    response={201: GenerationOut},
    url_name="generations",
    summary="Start a generation (1–4 images)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": GenerationIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        **GenerationIn.model_json_schema(),
                        "properties": {
                            **GenerationIn.model_json_schema()["properties"],
                            "source_file": {"type": "string", "format": "binary"},
                        },
                    }
                },
            },
            "required": True,
        },
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
                "description": "A retry with the same key returns the first answer.",
            }
        ],
    },
)
def create_generation(request, response: HttpResponse):
    caller = request.auth
    caller.require(Scope.GENERATE, Role.MEMBER)
    team = caller.team
    data, files = _request_fields(request, team)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise Problem(400, f"An Idempotency-Key is at most {IDEMPOTENCY_KEY_MAX} characters.")
    fingerprint = _fingerprint(data, files) if key else ""
    if key and (stored := _replay(caller, key, fingerprint)):
        return _created(response, *stored)
    form = GenerationForm(data, files, team=team, role=caller.membership.role)
    if not form.is_valid():
        raise _form_problem(form)
    if team.credentials_problem():
        raise Problem(409, team.credentials_problem())
    author = caller.user
    # Before the transaction below: a refused prompt's audit entry must outlive its rollback.
    with start_refusals():
        moderation.enforce(form.build(author))
    try:
        with transaction.atomic():
            record = None
            if key:
                IdempotencyKey.objects.expired(caller.token).delete()
                record = IdempotencyKey.objects.create(
                    token=caller.token, key=key, fingerprint=fingerprint
                )
            jobs = _start(form, author, caller.token)
            if record is not None:
                record.generation = jobs[0].generation
                record.save(update_fields=["generation"])
    except IntegrityError:
        # The same key committed by a concurrent retry a moment ago: answer as it did.
        stored = _replay(caller, key, fingerprint) if key else None
        if stored is None:
            raise
        return _created(response, *stored)
    return _created(response, *_answer(jobs[0].generation))


@contextmanager
def start_refusals():
    """A starter's refusals as problems: over budget, a role rule, storage down, or any other
    refusal it explains with a ValueError (e.g. a prompt it will not send)."""
    try:
        yield
    except budgets.BudgetExceeded as refusal:
        raise Problem(402, str(refusal)) from None
    except budgets.RoleNotAllowed as refusal:
        raise Problem(403, str(refusal)) from None
    except StorageUnavailable as error:
        raise Problem(503, str(error), headers={"Retry-After": "60"}) from None
    except ValueError as refusal:
        raise Problem(422, str(refusal)) from None


def _start(form, author, token):
    """`start_generation` as the studio calls it."""
    with start_refusals():
        return start_generation(
            form.build(author),
            save=lambda: form.save(author),
            board=form.cleaned_data.get("board"),
            api_token=token,
        )


def _created(response, body, headers):
    for name, value in headers.items():
        response[name] = value
    return Status(201, body)


@router.get("/generations/{uuid:code}", response=GenerationOut, url_name="generation")
def get_generation(request, code: UUID):
    caller = request.auth
    caller.require(Scope.READ)
    generation = Generation.objects.filter(team=caller.team, code=code).first()
    if generation is None:
        raise Problem(404, "No such generation in this token's team.")
    return _answer(generation)[0]
