"""A team's members: change a role, remove someone, set a person's own monthly cap."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import audit
from ..access import team_access
from ..account_forms import MemberRemoveForm, MemberRoleForm
from ..forms import MemberCapForm
from ..models import AuditAction, Membership, Role, Team
from .teams import settings_url


def _first_error(form):
    for errors in form.errors.values():
        return errors[0]
    return "That did not work; reload the page and try again."


def _refused(request, form, section="members"):
    """Back to a section of the settings page, with the form's first error as a message."""
    messages.error(request, _first_error(form))
    return redirect(settings_url(request.membership.team, section))


@require_POST
@login_required
def member_role(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        team.lock_owners()
        form = MemberRoleForm(team, membership, request.POST)
        if form.is_valid():
            target = form.cleaned_data["membership"]
            old_role = target.role
            target.role = form.cleaned_data["role"]
            target.save(update_fields=["role"])
            if old_role != target.role:
                audit.record(
                    request.user,
                    team,
                    AuditAction.ROLE_CHANGED,
                    target=target.user.email,
                    old=old_role,
                    new=target.role,
                )
    if not form.is_valid():
        return _refused(request, form)
    messages.success(
        request, f"{target.user.display_name} is now {target.get_role_display().lower()}."
    )
    if target.pk == membership.pk and not target.allows(Role.ADMIN):
        # They just gave away the right to see this page.
        return redirect("studio", team.code)
    return redirect(settings_url(team, "members"))


@require_POST
@login_required
def member_remove(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        team.lock_owners()
        form = MemberRemoveForm(team, membership, request.POST)
        if form.is_valid():
            target = form.cleaned_data["membership"]
            target.delete()
            team.clear_current_team([target.user_id])
            audit.record(
                request.user,
                team,
                AuditAction.MEMBER_REMOVED,
                target=target.user.email,
                role=target.role,
                left=target.user_id == request.user.pk,
            )
    if not form.is_valid():
        return _refused(request, form)
    if target.user_id == request.user.pk:
        request.user.refresh_from_db(fields=["current_team"])
        messages.success(request, f"You left {team.name}.")
        return redirect("home")
    messages.success(request, f"Removed {target.user.display_name} from {team.name}.")
    return redirect(settings_url(team, "members"))


@require_POST
@login_required
def member_cap(request, team_code):
    """One member's own monthly cap (owners and admins)."""
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = MemberCapForm(team, request.POST)
    if not form.is_valid():
        return _refused(request, form)
    target, cap = form.cleaned_data["member"], form.cleaned_data["monthly_cap"]
    if target.monthly_cap == cap:
        messages.info(request, f"{target.user.display_name}'s cap is unchanged.")
        return redirect(settings_url(team, "members"))
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        old = Membership.objects.get(pk=target.pk).monthly_cap
        Membership.objects.filter(pk=target.pk).update(monthly_cap=cap)
        audit.record(
            request.user,
            team,
            AuditAction.BUDGET_CHANGED,
            target=target.user.email,
            monthly_cap=[old, cap],
        )
    if cap is None:
        messages.success(request, f"{target.user.display_name} has no cap of their own now.")
    else:
        messages.success(
            request, f"{target.user.display_name} may now use {cap} credits per month."
        )
    return redirect(settings_url(team, "members"))
