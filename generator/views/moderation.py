"""The team's blocked words (admins edit them in Team settings) and the box where an admin
tries a prompt against every rule (the server's list too) without sending anything."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from .. import audit, moderation
from ..access import team_access, team_context
from ..models import Role, Team
from ..prompt_forms import BlockedPhrasesForm, ModerationTestForm
from .teams import settings_page, settings_url


@require_POST
@login_required
def blocked_phrases(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        # Locked like a generation start reads it, so no start checks a half-saved list.
        locked = Team.objects.select_for_update().get(pk=team.pk)
        before = moderation.parse_phrases(locked.blocked_phrases)
        form = BlockedPhrasesForm(request.POST, instance=locked)
        if form.is_valid():
            form.save()
            after = moderation.parse_phrases(locked.blocked_phrases)
            if after != before:
                audit.record(
                    request.user,
                    team,
                    audit.AuditAction.BLOCKLIST_CHANGED,
                    target="blocked words",
                    added=[p for p in after if p not in before],
                    removed=[p for p in before if p not in after],
                )
    if not form.is_valid():
        return settings_page(request, blocked_form=form)
    messages.success(request, "Saved the blocked words.")
    return redirect(settings_url(team, "moderation"))


@vary_on_headers("HX-Request")
@require_POST
@login_required
def moderation_test(request, team_code):
    """Check a prompt against the rules; nothing is sent, saved or logged."""
    membership = team_access(request, team_code, Role.ADMIN)
    form = ModerationTestForm(request.POST)
    verdict = None
    if form.is_valid():
        verdict = moderation.check(membership.team, form.cleaned_data)
    context = team_context(request, test_form=form, verdict=verdict, tested=form.is_valid())
    if request.htmx:
        return render(request, "generator/team_settings.html#moderation-test", context)
    return settings_page(
        request, moderation_test_form=form, test_form=form, verdict=verdict, tested=True
    )
