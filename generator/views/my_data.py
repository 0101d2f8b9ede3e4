"""A person's own data: what the app holds about them, and an export of it (a data-protection
request's "give me my data"). Erasing is for a superuser (erasure.py), not self-service: it
removes images teammates may rely on, so someone accountable decides."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from ..downloads import ZipDownload
from ..models import Job, PromptHistory, State


def _images(user):
    """Every finished image the person made, in every team, the trash included (it is still
    stored, so it is still theirs to have)."""
    return (
        Job.objects.filter(author=user, state=State.DONE)
        .select_related("generation", "team", "author", "parent")
        .order_by("-created_at", "-id")
    )


def _history(user):
    rows = PromptHistory.objects.filter(user=user).select_related("team").order_by("-last_used_at")
    return [
        {
            "team": entry.team.name,
            **entry.parameters,
            "uses": entry.uses,
            "last_used": entry.last_used_at.isoformat(),
        }
        for entry in rows
    ]


@require_GET
@login_required
def my_data(request):
    user = request.user
    context = {
        "images": _images(user).count(),
        "history": PromptHistory.objects.filter(user=user).count(),
    }
    return render(request, "generator/my_data.html", context)


@require_POST
@login_required
def my_data_export(request):
    """A ZIP of the person's images (prompt and parameters written in), the manifest, and
    their prompt history as JSON, streamed like the studio's ZIP."""
    user = request.user
    history = json.dumps(_history(user), ensure_ascii=False, indent=1).encode()
    day = timezone.localdate().isoformat()
    archive = ZipDownload(
        _images(user).iterator(chunk_size=500),
        f"akool-my-data-{day}.zip",
        extra=[("prompt-history.json", history)],
    )
    if archive.size > settings.ZIP_MAX_BYTES:
        messages.error(
            request,
            f"Your {archive.count} images come to {filesizeformat(archive.size)}, more than the "
            f"{filesizeformat(settings.ZIP_MAX_BYTES)} one download may hold. Ask an "
            "administrator for an export of everything.",
        )
        return redirect("my_data")
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(archive.size)
    response["Content-Disposition"] = content_disposition_header(True, archive.filename)
    response["Cache-Control"] = "private, no-store"
    return response
