"""Endpoints Akool calls: result webhooks, and the source images it fetches."""

import logging

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .. import source_links
from ..akool.results import ImageResult, InvalidResult
from ..akool.webhook import WebhookError, verify_and_decrypt
from ..lib import imaging
from ..lib.storage import file_response
from ..models import Team
from ..starters import apply_webhook

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def akool_webhook(request, token):
    """Verify, decrypt, move the job, answer 200 at once (storing happens in the worker)."""
    team = Team.objects.filter(webhook_token=token).first()
    if team is not None and team.credentials_unreadable:
        # Our configuration is at fault, not Akool's request: 503 makes Akool retry later.
        log.error(
            "webhook for team %s refused: its Akool credentials fit no FIELD_ENCRYPTION_KEYS key",
            team.code,
        )
        return JsonResponse({"error": "temporarily unavailable"}, status=503)
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
    """A source image for Akool to fetch: an upload, or a gallery image used as a source.

    No sign-in: the signed token is the permission (see source_links.py). Served with the type
    of the format it was validated as, never one guessed from a name someone chose."""
    source = source_links.source_for_token(token)
    if source is None:
        raise Http404
    field = source_links.stored_file(source)
    fmt = imaging.format_of_name(field.name)
    if fmt is None:
        raise Http404
    ext = imaging.extension(fmt)
    return file_response(field, imaging.content_type(fmt), f"source-{source.code.hex[:8]}.{ext}")
