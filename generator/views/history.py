"""A person's recent prompts in a team, searchable, for the generation form."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..access import team_access, team_context
from ..lib.text import one_line
from ..models import PromptHistory, Role
from ..search import QUERY_MAX

SHOWN = 20


@never_cache
@require_GET
@login_required
def prompt_history(request, team_code):
    """The caller's own entries in the team, most recently used first, filtered by ?q=.
    Members and up: a viewer has no form and so no history."""
    membership = team_access(request, team_code, Role.MEMBER)
    query = one_line(request.GET.get("q"), QUERY_MAX)
    entries = PromptHistory.objects.of(request.user, membership.team).matching(query)[:SHOWN]
    context = team_context(request, entries=entries, history_query=query)
    return render(request, "generator/_prompt_history.html#entries", context)
