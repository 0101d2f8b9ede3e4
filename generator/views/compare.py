"""Compare: two to four of the team's finished images side by side, each with its prompt and
settings; with exactly two, an A/B slider as well (static/js/compare.js).

The bulk bar posts its selection here (the same selection every bulk action reads); the answer
is a redirect to a plain GET address, so the page reloads, and goes Back, like any other.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from ..access import team_access, team_context
from ..forms import GalleryFilters
from ..models import Job, State
from .bulk import parse_codes, selected_images
from .gallery import _studio_url

COMPARE_MIN = 2
COMPARE_MAX = 4
WRONG_COUNT = f"Select {COMPARE_MIN} to {COMPARE_MAX} finished images to compare."
LETTERS = "ABCD"


def _in_order(jobs, codes):
    """`jobs` in the order of `codes` (the order the gallery showed them in)."""
    place = {code: i for i, code in enumerate(codes)}
    return sorted(jobs, key=lambda job: place.get(job.code, len(place)))


@require_POST
@login_required
def compare_selection(request, team_code):
    """The bulk bar's Compare: the selection (ticked cards, or everything a filter matches
    when that is 2 to 4 images) becomes the compare page's address."""
    membership = team_access(request, team_code)
    team = membership.team
    jobs = list(selected_images(request, team).order_by("-created_at", "-id")[: COMPARE_MAX + 1])
    if not COMPARE_MIN <= len(jobs) <= COMPARE_MAX:
        messages.error(request, WRONG_COUNT)
        return redirect(_studio_url(team, request))
    jobs = _in_order(jobs, parse_codes(request.POST.getlist("codes")))
    query = [("codes", str(job.code)) for job in jobs]
    filters = GalleryFilters(QueryDict(request.POST.get("filters", ""))).query
    if filters:
        query.append(("filters", filters))
    return redirect(f"{reverse('studio_compare', args=[team.code])}?{urlencode(query)}")


@require_GET
@login_required
def compare(request, team_code):
    """The compare page for `codes` (2 to 4 of the team's finished images); `filters` is the
    gallery's querystring, for the way back."""
    membership = team_access(request, team_code)
    team = membership.team
    codes = list(dict.fromkeys(parse_codes(request.GET.getlist("codes"))))
    filters = GalleryFilters(QueryDict(request.GET.get("filters", ""))).query
    back_url = reverse("studio", args=[team.code]) + (f"?{filters}" if filters else "")
    jobs = []
    if COMPARE_MIN <= len(codes) <= COMPARE_MAX:
        found = Job.objects.gallery(team, request.user).filter(state=State.DONE, code__in=codes)
        jobs = _in_order(found.select_related("parent"), codes)
    error = ""
    if not COMPARE_MIN <= len(codes) <= COMPARE_MAX:
        error = WRONG_COUNT
    elif len(jobs) < len(codes):
        error = "Some of these images were deleted or are not finished: select others to compare."
    context = team_context(
        request,
        items=[] if error else list(zip(LETTERS, jobs, strict=False)),
        slider=not error and len(jobs) == 2,
        back_url=back_url,
        error=error,
    )
    return render(request, "generator/compare.html", context, status=400 if error else 200)
