"""A team's Akool connection: save or remove the credentials, test the connection."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from .. import audit
from ..access import team_access
from ..account_forms import CredentialsForm
from ..models import AuditAction, Backend, Role
from ..sandbox.accounts import provision_account
from .teams import settings_page, settings_url

logger = logging.getLogger(__name__)


@sensitive_post_parameters("api_key", "client_id")
@sensitive_variables("form", "api_key", "client_id")
@require_POST
@login_required
def credentials_save(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = CredentialsForm(request.POST)
    if not form.is_valid():
        return settings_page(request, credentials_form=form)
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
    return redirect(settings_url(team, "connection"))


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
    return redirect(settings_url(team, "connection"))


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
        response = redirect(settings_url(team, "connection"))
    patch_vary_headers(response, ["HX-Request"])
    return response
