"""The emulated Akool endpoints: create, button, result, credit and token.

Protocol reference: docs/akool-api.md (§9 lists where the sandbox picks its own behaviour).
The plumbing every endpoint shares is in `api.py`; the CDN that serves results in `cdn.py`.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from . import faults, images, webhooks
from .accounts import token_for
from .api import api_view, authenticate_call, envelope, json_body
from .cdn import image_url
from .models import ALL_BUTTONS, COMPLETED, SandboxAccount, SandboxJob
from .validation import ApiError, validate_button, validate_v3, validate_v4

COST = {"1080p": 1, "4k": 2}
UPSCALE_COST = 2


# --- records ---------------------------------------------------------------------------------


def _create_record(job, full):
    record = {
        "_id": job.job_id,
        "uid": job.account.uid,
        "team_id": job.account.team_id,
        "create_time": job.create_time,
        "prompt": job.prompt,
        "image_status": 1,
        "deduction_credit": job.deduction_credit,
        "model_name": job.model_name,
        "type": 4,
        "from": job.api_from,
        "sub_type": job.sub_type,
    }
    if full:
        # The documented batch example leaves these out of array elements.
        record.update(
            origin_prompt=job.prompt,
            source_image=job.source_image,
            image_sub_status=1,
            provider="wavespeed-ai",
            file_name=f"ImageGenerator_{job.create_time}.png",
        )
    return record


def _v3_record(job):
    return {
        "_id": job.job_id,
        "uid": job.account.uid,
        "create_time": job.create_time,
        "prompt": job.prompt,
        "origin_prompt": job.prompt,
        "source_image": job.source_image,
        "image_status": 1,
        "deduction_credit": job.deduction_credit,
        "type": 4,
        "from": 1,
        "buttons": [],
        "used_buttons": [],
        "upscaled_urls": [],
        "faceswap_quality": 2,
    }


def result_record(request, job, now=None):
    status = job.status(now)
    done = status == COMPLETED
    url = image_url(request, job) if done else ""
    used = []
    if done and job.offers_buttons:
        taken = set(job.children.values_list("op_button", flat=True))
        used = [b for b in ALL_BUTTONS if b in taken]
    record = {
        "faceswap_quality": 2,
        "deduction_credit": job.deduction_credit,
        # Used buttons move from `buttons` to `used_buttons`, as the docs describe.
        "buttons": [b for b in ALL_BUTTONS if b not in used] if done and job.offers_buttons else [],
        "used_buttons": used,
        # Observed: a v4 result repeats its URL in upscaled_urls; a U child leaves it empty.
        "upscaled_urls": [url] if done and not job.is_upscale else [],
        "_id": job.job_id,
        "create_time": job.create_time,
        "uid": job.account.uid,
        "type": 4,
        "image_status": status,
        "image_sub_status": status,
        "image": url,
    }
    if job.api == SandboxJob.Api.V4:
        record.update(
            model_name=job.model_name,
            task_id=job.task_id,
            source_image=job.source_image,
            prompt=job.prompt,
        )
    if job.parent_id:
        record.update(image_content_model_id=job.parent.job_id, op_button=job.op_button)
    return record


# --- job creation ----------------------------------------------------------------------------


def _timings(now):
    queued = float(getattr(settings, "SANDBOX_QUEUE_SECONDS", 1.0))
    generating = float(getattr(settings, "SANDBOX_GENERATION_SECONDS", 4.0))
    started = now + timedelta(seconds=queued)
    return started, started + timedelta(seconds=generating)


def _seed():
    return secrets.randbits(48)


def _create_jobs(request, account, params, api, markers):
    """Charge and create the batch in one transaction (no credit, no jobs)."""
    width, height = images.dimensions(params.scale, params.resolution, params.source_size)
    cost = COST[params.resolution]
    now = timezone.now()
    started, finished = _timings(now)
    # Consecutive seeds: the batch's pictures are different compositions (images.COMPOSITIONS).
    first_seed = _seed()
    jobs = [
        SandboxJob(
            account=account,
            api=api,
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            model_name=params.model_name,
            source_image=params.source_url,
            source_key=params.source_key,
            similar=params.similar,
            scale=params.scale,
            resolution=params.resolution,
            width=width,
            height=height,
            seed=first_seed + i,
            deduction_credit=cost,
            will_fail=markers.fail,
            webhook_url=params.webhook_url,
            created_at=now,
            started_at=started,
            finished_at=finished,
        )
        for i in range(params.batch_quantity)
    ]
    with transaction.atomic():
        if not account.charge(cost * len(jobs)):
            raise ApiError(1006)
        SandboxJob.objects.bulk_create(jobs)
        for job in jobs:
            webhooks.schedule_job(job, image_url(request, job))
    return jobs


def _create(request, call, validate, api):
    """What both create endpoints do: authenticate, apply the prompt's injected faults,
    validate, and charge and create the batch. Returns (jobs, None), or (None, response) when
    an injected gateway fault ([http:5xx]) answers before any job exists."""
    account = authenticate_call(request, call)
    body = json_body(request, call)
    prompt = body.get("prompt")
    markers = faults.parse_markers(prompt if isinstance(prompt, str) else "")
    if markers.http_status:
        return None, faults.gateway_error(markers.http_status)
    if markers.error_code:
        raise ApiError(markers.error_code)
    jobs = _create_jobs(request, account, validate(body), api, markers)
    call.job_id = jobs[0].job_id
    call.drop = markers.drop
    call.delay = markers.slow
    return jobs, None


@api_view("create", "POST")
def create_v4(request, call):
    jobs, early = _create(request, call, validate_v4, SandboxJob.Api.V4)
    if early:
        return early
    # Quirk: one image gives an object, several give an array of slimmer records.
    if len(jobs) == 1:
        return envelope(1000, _create_record(jobs[0], full=True))
    return envelope(1000, [_create_record(job, full=False) for job in jobs])


@api_view("create", "POST")
def create_v3(request, call):
    jobs, early = _create(request, call, validate_v3, SandboxJob.Api.V3)
    if early:
        return early
    return envelope(1000, _v3_record(jobs[0]))


@api_view("button", "POST")
def create_by_button(request, call):
    account = authenticate_call(request, call)
    body = json_body(request, call)
    parent_id, button, webhook_url = validate_button(body)
    call.job_id = parent_id
    parent = SandboxJob.objects.select_related("account").filter(job_id=parent_id).first()
    if parent is None:
        raise ApiError(1008)
    if parent.account_id != account.pk:
        raise ApiError(1009)
    if not parent.offers_buttons or parent.status() != COMPLETED:
        raise ApiError(1010)
    if parent.children.filter(op_button=button).exists():
        raise ApiError(1011)
    upscale = button.startswith("U")
    cost = UPSCALE_COST if upscale else COST[parent.resolution]
    width, height = (
        images.upscaled(parent.width, parent.height) if upscale else (parent.width, parent.height)
    )
    now = timezone.now()
    started, finished = _timings(now)
    child = SandboxJob(
        account=account,
        api=SandboxJob.Api.BUTTON,
        parent=parent,
        op_button=button,
        op_button_message_id=secrets.token_urlsafe(15)[:20],
        prompt=parent.prompt,
        negative_prompt=parent.negative_prompt,
        model_name=parent.model_name,
        source_image=parent.source_image,
        source_key=parent.source_key,
        similar=parent.similar,
        scale=parent.scale,
        resolution=parent.resolution,
        width=width,
        height=height,
        # An upscale is the same picture, larger; a variation is a new composition.
        seed=parent.seed if upscale else _seed(),
        deduction_credit=cost,
        webhook_url=webhook_url,
        created_at=now,
        started_at=started,
        finished_at=finished,
    )
    try:
        with transaction.atomic():
            if not account.charge(cost):
                raise ApiError(1006)
            child.save()
            webhooks.schedule_job(child, image_url(request, child))
    except IntegrityError:
        # A concurrent call used the same button first.
        raise ApiError(1011) from None
    call.job_id = child.job_id
    return envelope(
        1000,
        {
            "_id": child.job_id,
            "image_content_model_id": parent.job_id,
            "create_time": child.create_time,
            "op_button": button,
            "op_buttonMessageId": child.op_button_message_id,
            "image_status": 1,
            "deduction_credit": cost,
            "from": 1,
            "buttons": [],
            "used_buttons": [],
            "upscaled_urls": [],
            "faceswap_quality": 2,
        },
    )


# --- reads -----------------------------------------------------------------------------------


@api_view("result", "GET")
def image_result(request, call):
    account = authenticate_call(request, call)
    job_id = request.GET.get("image_model_id", "").strip()
    call.job_id = job_id
    if not job_id:
        raise ApiError(1003, "image_model_id is required")
    job = SandboxJob.objects.select_related("account", "parent").filter(job_id=job_id).first()
    if job is None:
        raise ApiError(1008)
    if job.account_id != account.pk:
        raise ApiError(1009)
    return envelope(1000, result_record(request, job))


@api_view("credit", "GET")
def credit_info(request, call):
    account = authenticate_call(request, call)
    return envelope(1000, {"credit": account.credit})


@api_view("token", "POST")
def get_token(request, call):
    body = json_body(request, call)
    client_id, secret = body.get("clientId"), body.get("clientSecret")
    if not client_id or not secret or not isinstance(client_id, str) or not isinstance(secret, str):
        raise ApiError(1102, "clientId and clientSecret are required")
    account = SandboxAccount.objects.filter(client_id=client_id, api_key=secret).first()
    if account is None:
        raise ApiError(1101, "Invalid clientId or clientSecret")
    call.account = account
    if account.banned:
        raise ApiError(1200)
    # Quirk: the token is top-level and there is no `data` (nor a documented `msg`).
    response = JsonResponse({"code": 1000, "token": token_for(account)})
    response.akool_code = 1000
    return response
