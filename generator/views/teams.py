"""Teams: list, create, switch, settings, members, invitations and Akool credentials."""

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
from django.utils.cache import patch_vary_headers
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from .. import audit, budgets, tasks
from ..access import team_access, team_context
from ..account_forms import (
    LAST_OWNER,
    CredentialsForm,
    DeleteTeamForm,
    InvitationForm,
    MemberRemoveForm,
    MemberRoleForm,
    TeamCreateForm,
    TeamDetailsForm,
    TransferOwnershipForm,
    role_choices_for,
)
from ..forms import BudgetForm, MemberCapForm
from ..models import ROLE_RANK, AuditAction, Backend, Membership, Role, Team, User
from ..queue import enqueue
from ..sandbox.accounts import provision_account

logger = logging.getLogger(__name__)


def _settings_url(team, section=""):
    url = reverse("team_settings", args=[team.code])
    return f"{url}#{section}" if section else url


def _forget_team(user_ids, team):
    """People who are no longer in `team` must not land in it next time."""
    User.objects.filter(pk__in=user_ids, current_team=team).update(current_team=None)


def _first_error(form):
    for errors in form.errors.values():
        return errors[0]
    return "That did not work; reload the page and try again."


def _refused(request, form, section="members"):
    """Back to a section of the settings page, with the form's first error as a message."""
    messages.error(request, _first_error(form))
    return redirect(_settings_url(request.membership.team, section))


def _lock_owners(team):
    """The team's owners, locked until the transaction ends, so two owners demoting or removing
    each other (or leaving at once) cannot leave the team ownerless."""
    return list(team.memberships.select_for_update().filter(role=Role.OWNER))


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
    return redirect(_settings_url(team, "connection"))


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
        owners = _lock_owners(team)
        if membership.role == Role.OWNER and len(owners) <= 1:
            messages.error(request, LAST_OWNER)
            return redirect("team_list")
        membership.delete()
        _forget_team([request.user.pk], team)
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


def _settings_page(request, **forms):
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
    )
    context.update(forms)
    return render(request, "generator/team_settings.html", context)


@require_GET
@login_required
def team_settings(request, team_code):
    team_access(request, team_code, Role.ADMIN)
    return _settings_page(request)


@require_POST
@login_required
def team_details(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = TeamDetailsForm(request.POST, instance=Team.objects.get(pk=team.pk))
    if not form.is_valid():
        return _settings_page(request, details_form=form)
    form.save()
    messages.success(request, "Saved the team details.")
    return redirect(_settings_url(team))


# --- members ---------------------------------------------------------------------------------


@require_POST
@login_required
def member_role(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        _lock_owners(team)
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
    return redirect(_settings_url(team, "members"))


@require_POST
@login_required
def member_remove(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    with transaction.atomic():
        _lock_owners(team)
        form = MemberRemoveForm(team, membership, request.POST)
        if form.is_valid():
            target = form.cleaned_data["membership"]
            target.delete()
            _forget_team([target.user_id], team)
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
    return redirect(_settings_url(team, "members"))


@require_POST
@login_required
def team_transfer(request, team_code):
    membership = team_access(request, team_code, Role.OWNER)
    team = membership.team
    form = TransferOwnershipForm(team, membership, request.POST)
    if not form.is_valid():
        return _settings_page(request, transfer_form=form)
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
    return redirect(_settings_url(team, "members"))


@require_POST
@login_required
def team_delete(request, team_code):
    membership = team_access(request, team_code, Role.OWNER)
    team = membership.team
    form = DeleteTeamForm(team, request.POST)
    if not form.is_valid():
        return _settings_page(request, delete_form=form)
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
        return _settings_page(request, budget_form=form)
    if form.has_changed():
        messages.success(request, "Saved the budget and role rules.")
    else:
        messages.info(request, "Nothing to save: the budget and rules are unchanged.")
    return redirect(_settings_url(team, "budget"))


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
        return redirect(_settings_url(team, "members"))
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
    return redirect(_settings_url(team, "members"))


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
        return _settings_page(request, invite_form=form)
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
    return redirect(_settings_url(team, "invitations"))


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
    return redirect(_settings_url(team, "invitations"))


# --- credentials -----------------------------------------------------------------------------


@sensitive_post_parameters("api_key", "client_id")
@sensitive_variables("form", "api_key", "client_id")
@require_POST
@login_required
def credentials_save(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = CredentialsForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, credentials_form=form)
    action = AuditAction.KEY_REPLACED if team.has_credentials else AuditAction.KEY_ADDED
    if form.cleaned_data["backend"] == Backend.SANDBOX:
        with transaction.atomic():
            team.use_sandbox(provision_account())
            team.save()
            audit.record(request.user, team, action, target="API key", backend=Backend.SANDBOX)
        messages.success(request, f"{team.name} now uses the built-in sandbox.")
    else:
        api_key = form.cleaned_data["api_key"]
        client_id = form.cleaned_data["client_id"]
        with transaction.atomic():
            team.backend = Backend.AKOOL
            team.set_credentials(api_key, client_id)
            team.use_token_auth = form.cleaned_data["use_token_auth"]
            team.save()
            # Which kind of sign-in, never the values themselves.
            audit.record(
                request.user,
                team,
                action,
                target="API key",
                backend=Backend.AKOOL,
                sign_in="bearer token" if team.use_token_auth else "API key header",
            )
        messages.success(
            request,
            f"Saved the Akool API key ending in {team.api_key_last4}. "
            "Use “Test connection” to check it.",
        )
    return redirect(_settings_url(team, "connection"))


@require_POST
@login_required
def credentials_remove(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    if not team.has_credentials:
        messages.info(request, "There is no API key to remove.")
    else:
        with transaction.atomic():
            team.set_credentials("", "")
            team.use_token_auth = False
            team.save()
            audit.record(request.user, team, AuditAction.KEY_REMOVED, target="API key")
        messages.success(
            request, "Removed the API key. Nobody can generate until a new one is set."
        )
    return redirect(_settings_url(team, "connection"))


def _format_credits(value):
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _check_connection(team):
    """(ok, sentence) for the team's Akool connection; never raises, never shows the key."""
    from ..akool.errors import AkoolError

    if not team.has_credentials:
        return False, "No API key is saved yet."
    if team.credentials_unreadable:
        return False, "The saved API key cannot be read with this server's encryption key."
    try:
        # One quick try: a person is waiting for the answer.
        credit = team.akool_client(get_retries=0, read_timeout=15).credit_info()
    except AkoolError as exc:
        return False, exc.message
    except Exception as exc:
        logger.warning("Connection test for team %s failed: %s", team.code, type(exc).__name__)
        return False, "The connection test failed unexpectedly. Try again in a moment."
    return True, f"Connected — balance: {_format_credits(credit)} credits"


@require_POST
@login_required
def credentials_test(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    ok, result = _check_connection(team)
    if request.htmx:
        response = render(
            request,
            "generator/team_settings.html#connection-result",
            {"ok": ok, "result": result},
        )
    else:
        (messages.success if ok else messages.error)(request, result)
        response = redirect(_settings_url(team, "connection"))
    patch_vary_headers(response, ["HX-Request"])
    return response
