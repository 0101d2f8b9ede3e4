"""Downloading many originals at once: a streamed ZIP of a selection or of a whole filter."""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from ..access import team_access, team_context
from ..downloads import ZipDownload, prompt_slug
from ..forms import GalleryFilters
from ..models import Job, State

# A selection posted as codes; a larger set is asked for as "everything this filter matches".
MAX_CODES = 5000


def _selected(request, membership):
    """The team's finished images the request names: its `codes`, or with `all=1` every one
    its `filters` (the gallery's querystring) match. None when the request names none."""
    team, user = membership.team, request.user
    jobs = Job.objects.gallery(team, user).filter(state=State.DONE)
    if request.POST.get("all") == "1":
        filters = GalleryFilters(QueryDict(request.POST.get("filters", "")))
        jobs = filters.apply(jobs, user)
    else:
        codes = set()
        for value in request.POST.getlist("codes")[:MAX_CODES]:
            try:
                codes.add(uuid.UUID(value))
            except ValueError:
                continue
        if not codes:
            return None
        jobs = jobs.filter(code__in=codes)
    return jobs.select_related("team", "parent").order_by("-created_at", "-id")


def _refused(request, status, message):
    context = team_context(
        request, message=message, studio_url=reverse("studio", args=[request.membership.team.code])
    )
    return render(request, "generator/download_refused.html", context, status=status)


@require_POST
@login_required
def studio_zip(request, team_code):
    """A ZIP of the selected originals, each with its prompt and parameters written in, and a
    manifest; streamed with its size known, for every member (viewers too)."""
    membership = team_access(request, team_code)
    jobs = _selected(request, membership)
    if jobs is None:
        return _refused(request, 400, "Select at least one finished image to download.")
    team = membership.team
    day = timezone.localdate(timezone=team.zone()).isoformat()
    filename = f"akool-{prompt_slug(team.name)}-{day}.zip"
    archive = ZipDownload(jobs.iterator(chunk_size=500), filename)
    if not archive.count:
        return _refused(request, 400, "None of the selected images can be downloaded.")
    if archive.size > settings.ZIP_MAX_BYTES:
        return _refused(
            request,
            413,
            f"These {archive.count} images come to {filesizeformat(archive.size)}, more than "
            f"the {filesizeformat(settings.ZIP_MAX_BYTES)} one download may hold. "
            "Select fewer, or narrow the filter.",
        )
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(archive.size)
    response["Content-Disposition"] = content_disposition_header(True, archive.filename)
    response["Cache-Control"] = "private, no-store"
    return response
