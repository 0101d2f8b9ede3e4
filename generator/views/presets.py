"""The team's prompt presets: the list (everyone in the team), adding (members), changing and
deleting (their author, or an admin: `Membership.may_change`), and the picker in the studio."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import audit
from ..access import team_access, team_context
from ..lib.text import one_line
from ..models import PromptPreset, Role
from ..prompt_forms import PresetForm
from ..search import QUERY_MAX

NAME_TAKEN = "This team already has a preset with that name."
PICKER_SHOWN = 50


def _list_page(request, form=None, status=200):
    membership = request.membership
    presets = PromptPreset.objects.filter(team=membership.team).select_related("created_by")
    if form is None and membership.can_edit:
        form = PresetForm(team=membership.team)
    context = team_context(request, presets=presets, form=form)
    return render(request, "generator/presets.html", context, status=status)


@require_GET
@login_required
def preset_list(request, team_code):
    team_access(request, team_code)
    return _list_page(request)


@require_POST
@login_required
def preset_create(request, team_code):
    membership = team_access(request, team_code, Role.MEMBER)
    form = PresetForm(request.POST, team=membership.team)
    if form.is_valid():
        form.instance.team = membership.team
        form.instance.created_by = request.user
        try:
            with transaction.atomic():
                preset = form.save()
        except IntegrityError:
            form.add_error("name", NAME_TAKEN)
        else:
            messages.success(request, f"Preset “{preset.name}” saved.")
            return redirect("preset_list", membership.team.code)
    return _list_page(request, form)


def _changeable(membership, preset_code):
    """The team's preset, if the caller may change it; 404 / 403 otherwise."""
    preset = get_object_or_404(PromptPreset, team=membership.team, code=preset_code)
    if not membership.may_change(preset.created_by_id):
        raise PermissionDenied("Only its author or an admin can change this preset.")
    return preset


def _others(request, preset, action, name, **details):
    """Audit a change to someone else's preset (presets belong to the whole team); `name`:
    the preset's name before the change."""
    if preset.created_by_id != request.user.pk:
        audit.record(request.user, preset.team, action, target=f"preset {name}", **details)


@require_http_methods(["GET", "POST"])
@login_required
def preset_edit(request, team_code, preset_code):
    membership = team_access(request, team_code, Role.MEMBER)
    preset = _changeable(membership, preset_code)
    # The form writes its values into `preset` as it validates.
    name = preset.name
    form = PresetForm(request.POST or None, instance=preset, team=membership.team)
    if request.method == "POST" and form.is_valid():
        form.instance.updated_at = timezone.now()
        try:
            with transaction.atomic():
                form.save()
                _others(
                    request, preset, audit.AuditAction.PRESET_EDITED, name, fields=form.changed_data
                )
        except IntegrityError:
            form.add_error("name", NAME_TAKEN)
        else:
            messages.success(request, f"Preset “{preset.name}” saved.")
            return redirect("preset_list", membership.team.code)
    preset.name = name
    context = team_context(request, preset=preset, form=form)
    return render(request, "generator/preset_edit.html", context)


@require_POST
@login_required
def preset_delete(request, team_code, preset_code):
    membership = team_access(request, team_code, Role.MEMBER)
    preset = _changeable(membership, preset_code)
    with transaction.atomic():
        preset.delete()
        _others(request, preset, audit.AuditAction.PRESET_DELETED, preset.name)
    messages.success(request, f"Preset “{preset.name}” deleted.")
    return redirect("preset_list", membership.team.code)


@never_cache
@require_GET
@login_required
def preset_picker(request, team_code):
    """The studio's list of team presets, filtered by ?q= (name or prompt). Members and up:
    a viewer has no form to fill."""
    membership = team_access(request, team_code, Role.MEMBER)
    query = one_line(request.GET.get("q"), QUERY_MAX)
    presets = PromptPreset.objects.filter(team=membership.team)
    for word in query.split()[:8]:
        presets = presets.filter(Q(name__icontains=word) | Q(prompt__icontains=word))
    context = team_context(request, presets=presets[:PICKER_SHOWN], preset_query=query)
    return render(request, "generator/_preset_picker.html#entries", context)
