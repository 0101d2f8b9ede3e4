"""Endpoints Akool calls: result webhooks, and uploaded source images it fetches."""

import logging
from datetime import timedelta

from django.core import signing
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..akool_client import ImageResult, InvalidResult
from ..akool_webhook import WebhookError, verify_and_decrypt
from ..forms import SOURCE_SALT
from ..models import Generation, Team
from ..tasks import apply_webhook

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def akool_webhook(request, token):
    """Verify, decrypt, move the job, answer 200 at once (storing happens in the worker)."""
    team = Team.objects.filter(webhook_token=token).first()
    if team is None or not team.client_id:
        raise Http404
    try:
        payload = verify_and_decrypt(request.body, team.client_id, team.api_key)
        result = ImageResult.from_webhook(payload)
    except (WebhookError, InvalidResult) as error:
        # The reason is safe to log and return: it never includes key material.
        log.warning("rejected a webhook for team %s: %s", team.code, error)
        return JsonResponse({"error": str(error)}, status=400)
    apply_webhook(team, result)
    return JsonResponse({})


@require_GET
def source_image(request, token):
    try:
        code = signing.loads(token, salt=SOURCE_SALT, max_age=timedelta(days=7))
    except signing.BadSignature:
        raise Http404 from None
    generation = get_object_or_404(Generation, code=code)
    if not generation.source_upload:
        raise Http404
    return FileResponse(generation.source_upload.open("rb"))
