"""Teams: list, create, switch, leave, the settings page, ownership, the budget, invitations."""

import logging
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import audit, budgets, moderation, retention, tasks
from ..access import team_access, team_context
from ..account_forms import (
    LAST_OWNER,
    CredentialsForm,
    DeleteTeamForm,
    InvitationForm,
    TeamCreateForm,
    TeamDetailsForm,
    TransferOwnershipForm,
    role_choices_for,
)
from ..forms import BudgetForm, RetentionForm
from ..models import ROLE_RANK, AuditAction, Backend, Membership, Role, Team
from ..prompt_forms import BlockedPhrasesForm, ModerationTestForm
from ..queue import enqueue
from ..sandbox.accounts import provision_account

logger = logging.getLogger(__name__)


def settings_url(team, section=""):
    url = reverse("team_settings", args=[team.code])
    return f"{url}#{section}" if section else url


# --- list, create, switch, leave -------------------------------------------------------------


def _team_list_page(request, form=None):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .annotate(member_count=Count("team__memberships"))
        .order_by("team__name")
    )
    rows = [
        {"membership": m, "team": m.team, "is_admin": m.allows(Role.ADMIN)} for m in memberships
    ]
    return render(
        request,
        "generator/team_list.html",
        {"rows": rows, "form": form or TeamCreateForm(), "sandbox": settings.AKOOL_SANDBOX},
    )


@require_GET
@login_required
def team_list(request):
    return _team_list_page(request)


@require_POST
@login_required
def team_create(request):
    form = TeamCreateForm(request.POST)
    if not form.is_valid():
        return _team_list_page(request, form)
    team = form.save(commit=False)
    if settings.AKOOL_SANDBOX:
        team.use_sandbox(provision_account())
    else:
        team.backend = Backend.AKOOL
    with transaction.atomic():
        team.save()
        Membership.objects.create(team=team, user=request.user, role=Role.OWNER)
        request.user.current_team = team
        request.user.save(update_fields=["current_team"])
    if team.is_sandbox:
        messages.success(
            request, f"Created {team.name}. It uses the free sandbox, so you can try it now."
        )
        return redirect("studio", team.code)
    messages.success(request, f"Created {team.name}. Add your Akool API key to start.")
    return redirect(settings_url(team, "connection"))


@require_POST
@login_required
def team_switch(request):
    try:
        code = uuid.UUID(request.POST.get("team", ""))
    except ValueError:
        raise Http404("No such team") from None
    membership = team_access(request, code)  # also makes it the current team
    return redirect("studio", membership.team.code)


@require_POST
@login_required
def team_leave(request, team_code):
    membership = team_access(request, team_code)
    team = membership.team
    with transaction.atomic():
        owners = team.lock_owners()
        if membership.role == Role.OWNER and len(owners) <= 1:
            messages.error(request, LAST_OWNER)
            return redirect("team_list")
        membership.delete()
        team.clear_current_team([request.user.pk])
        audit.record(
            request.user,
            team,
            AuditAction.MEMBER_REMOVED,
            target=request.user.email,
            role=membership.role,
            left=True,
        )
    request.user.refresh_from_db(fields=["current_team"])
    messages.success(request, f"You left {team.name}.")
    return redirect("home")


# --- settings page ---------------------------------------------------------------------------


def _member_rows(actor):
    team = actor.team
    members = sorted(
        team.memberships.select_related("user"),
        key=lambda m: (-ROLE_RANK[m.role], m.user.email),
    )
    owners = sum(1 for m in members if m.role == Role.OWNER)
    actor_is_owner = actor.role == Role.OWNER
    rows = []
    for m in members:
        is_owner = m.role == Role.OWNER
        last_owner = is_owner and owners <= 1
        rows.append(
            {
                "membership": m,
                "usage": budgets.member_usage(m),
                "is_me": m.user_id == actor.user_id,
                "can_change_role": (actor_is_owner or not is_owner) and not last_owner,
                "can_remove": (actor_is_owner or not is_owner) and not last_owner,
            }
        )
    return rows


def settings_page(request, **forms):
    """The settings page for `request.membership`; `forms` replace the fresh ones (a rejected
    form comes back with its errors)."""
    membership = request.membership
    team = membership.team
    is_owner = membership.role == Role.OWNER
    invitations = list(team.invitations.usable().select_related("invited_by"))
    for invitation in invitations:
        invitation.link = request.build_absolute_uri(reverse("invite", args=[invitation.code]))
    context = team_context(
        request,
        is_owner=is_owner,
        members=_member_rows(membership),
        role_choices=role_choices_for(membership.role),
        invitations=invitations,
        sandbox_available=settings.AKOOL_SANDBOX,
        # A fresh instance: a rejected edit must not show up in the page's header.
        details_form=TeamDetailsForm(instance=Team.objects.get(pk=team.pk)),
        credentials_form=CredentialsForm(
            initial={"backend": team.backend, "use_token_auth": team.use_token_auth}
        ),
        invite_form=InvitationForm(team, membership),
        transfer_form=TransferOwnershipForm(team, membership) if is_owner else None,
        delete_form=DeleteTeamForm(team) if is_owner else None,
        budget_form=BudgetForm(instance=Team.objects.get(pk=team.pk), actor_role=membership.role),
        team_usage=budgets.team_usage(team),
        api_token_count=team.api_tokens.usable().count(),
        retention_form=RetentionForm(instance=Team.objects.get(pk=team.pk)),
        retention_preview=retention.preview(team),
        storage=team.storage_used(),
        blocked_form=BlockedPhrasesForm(instance=Team.objects.get(pk=team.pk)),
        moderation_test_form=ModerationTestForm(),
        server_phrases=moderation.server_phrases(),
    )
    context.update(forms)
    return render(request, "generator/team_settings.html", context)


@require_GET
@login_required
def team_settings(request, team_code):
    team_access(request, team_code, Role.ADMIN)
    return settings_page(request)


@require_POST
@login_required
def team_details(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = TeamDetailsForm(request.POST, instance=Team.objects.get(pk=team.pk))
    if not form.is_valid():
        return settings_page(request, details_form=form)
    form.save()
    messages.success(request, "Saved the team details.")
    return redirect(settings_url(team))


# --- ownership -------------------------------------------------------------------------------


@require_POST
@login_required
def team_transfer(request, team_code):
    membership = team_access(request, team_code, Role.OWNER)
    team = membership.team
    form = TransferOwnershipForm(team, membership, request.POST)
    if not form.is_valid():
        return settings_page(request, transfer_form=form)
    new_owner = form.cleaned_data["new_owner"]
    with transaction.atomic():
        team.memberships.filter(user=new_owner).update(role=Role.OWNER)
        membership.role = Role.ADMIN
        membership.save(update_fields=["role"])
        audit.record(
            request.user,
            team,
            AuditAction.TEAM_TRANSFERRED,
            target=new_owner.email,
            previous_owner_now=Role.ADMIN.value,
        )
    messages.success(request, f"{new_owner.display_name} now owns {team.name}. You are an admin.")
    return redirect(settings_url(team, "members"))


@require_POST
@login_required
def team_delete(request, team_code):
    membership = team_access(request, team_code, Role.OWNER)
    team = membership.team
    form = DeleteTeamForm(team, request.POST)
    if not form.is_valid():
        return settings_page(request, delete_form=form)
    name = team.name
    with transaction.atomic():
        files = team.stored_file_names()
        # Written first: the entry outlives the team (its link is cleared, the name is kept).
        audit.record(request.user, team, AuditAction.TEAM_DELETED, target=name)
        team.delete()
        # The files go once the rows are gone for good; a rollback keeps both.
        enqueue(tasks.delete_stored_files, files)
    request.user.refresh_from_db(fields=["current_team"])
    messages.success(request, f"Deleted the team {name} and everything in it.")
    return redirect("home")


# --- budgets ---------------------------------------------------------------------------------


@require_POST
@login_required
def team_budget(request, team_code):
    """The team's monthly budget and role rules (owners and admins)."""
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        # Locked like a generation start, so a submit never checks against a half-saved rule.
        locked = Team.objects.select_for_update().get(pk=team.pk)
        form = BudgetForm(request.POST, instance=locked, actor_role=membership.role)
        if form.is_valid() and form.has_changed():
            changes = form.changes()
            form.save()
            audit.record(
                request.user, team, AuditAction.BUDGET_CHANGED, target="team budget", **changes
            )
    if not form.is_valid():
        return settings_page(request, budget_form=form)
    if form.has_changed():
        messages.success(request, "Saved the budget and role rules.")
    else:
        messages.info(request, "Nothing to save: the budget and rules are unchanged.")
    return redirect(settings_url(team, "budget"))


# --- retention -------------------------------------------------------------------------------


@require_POST
@login_required
def team_retention(request, team_code):
    """The trash's days and the retention policy (owners and admins). "Preview" (a dry run)
    shows what the posted policy would move to the trash now, without saving it."""
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        form = RetentionForm(request.POST, instance=locked)
        if not form.is_valid():
            return settings_page(request, retention_form=form)
        if "preview" in request.POST:
            # The unsaved instance carries the posted values: the dry run reads them.
            return settings_page(
                request,
                retention_form=form,
                retention_preview=retention.preview(form.instance),
                retention_previewed=True,
            )
        if form.has_changed():
            changes = form.changes()
            form.save()
            audit.record(
                request.user, team, AuditAction.RETENTION_CHANGED, target="retention", **changes
            )
    if form.has_changed():
        messages.success(request, "Saved the trash and retention settings.")
    else:
        messages.info(request, "Nothing to save: the trash and retention settings are unchanged.")
    return redirect(settings_url(team, "retention"))


# --- invitations -----------------------------------------------------------------------------


def _send_invitation(request, invitation, link):
    context = {
        "invitation": invitation,
        "team": invitation.team,
        "link": link,
        "inviter": request.user,
    }
    subject = f"You're invited to join {invitation.team.name} on akool-web"
    body = render_to_string("generator/email/invitation.txt", context, request=request)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:
        logger.exception("Could not send the invitation email for team %s", invitation.team.code)
        return False
    return True


@require_POST
@login_required
def invitation_create(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = InvitationForm(team, membership, request.POST)
    if not form.is_valid():
        return settings_page(request, invite_form=form)
    email = form.cleaned_data["email"]
    with transaction.atomic():
        # A fresh invitation replaces an older pending one, so only one link works.
        team.invitations.filter(email__iexact=email, accepted_at__isnull=True).delete()
        invitation = team.invitations.create(
            email=email, role=form.cleaned_data["role"], invited_by=request.user
        )
        audit.record(
            request.user, team, AuditAction.MEMBER_INVITED, target=email, role=invitation.role
        )
    link = request.build_absolute_uri(reverse("invite", args=[invitation.code]))
    if _send_invitation(request, invitation, link):
        messages.success(request, f"Invitation sent to {email}. You can also copy the link below.")
    else:
        messages.warning(
            request,
            f"The invitation for {email} is ready, but the email could not be sent. "
            "Copy the link below and send it yourself.",
        )
    return redirect(settings_url(team, "invitations"))


@require_POST
@login_required
def invitation_revoke(request, team_code, code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    deleted, _ = team.invitations.filter(code=code, accepted_at__isnull=True).delete()
    if deleted:
        messages.success(request, "Invitation withdrawn; its link no longer works.")
    else:
        messages.info(request, "That invitation was already used or withdrawn.")
    return redirect(settings_url(team, "invitations"))
