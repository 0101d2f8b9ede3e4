"""API tokens on the account page (a person's own) and on the team's token page (the team's
service tokens, and its members' personal tokens for an admin to see and revoke).

A new token's secret is in the one response that makes it, which no cache may keep; after
that only its name and first characters are ever shown.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ..access import team_access, team_context
from ..api_tokens import issue_token, revoke_token
from ..models import ApiToken, Role, TokenKind
from ..token_forms import PersonalTokenForm, ServiceTokenForm

# --- the account page ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def account_tokens(request):
    """The person's own tokens, and the form that makes one (its secret is shown once)."""
    user = request.user
    form = PersonalTokenForm(user, request.POST or None)
    new = None
    if request.method == "POST" and form.is_valid():
        token, secret = issue_token(
            user,
            kind=TokenKind.PERSONAL,
            user=user,
            team=form.cleaned_data["team"],
            **form.token_fields(),
        )
        new = {"token": token, "secret": secret}
        form = PersonalTokenForm(user)
    tokens = ApiToken.objects.filter(kind=TokenKind.PERSONAL, user=user).select_related("team")
    return render(
        request,
        "generator/account_tokens.html",
        {"form": form, "tokens": tokens, "new": new, "has_teams": form.fields["team"].queryset},
    )


@require_POST
@login_required
def account_token_revoke(request, code):
    token = ApiToken.objects.filter(kind=TokenKind.PERSONAL, user=request.user, code=code).first()
    if token is None:
        raise Http404("No such token")
    revoke_token(request.user, token)
    messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect("account_tokens")


# --- the team's tokens -----------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def team_tokens(request, team_code):
    """Service tokens (owners and admins make them) and the members' personal tokens."""
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = ServiceTokenForm(membership, request.POST or None)
    new = None
    if request.method == "POST" and form.is_valid():
        token, secret = issue_token(
            request.user,
            kind=TokenKind.SERVICE,
            team=team,
            role=form.cleaned_data["role"],
            **form.token_fields(),
        )
        new = {"token": token, "secret": secret}
        form = ServiceTokenForm(membership)
    tokens = ApiToken.objects.filter(team=team).select_related("user", "created_by")
    context = team_context(
        request,
        form=form,
        new=new,
        service_tokens=[t for t in tokens if not t.is_personal],
        personal_tokens=[t for t in tokens if t.is_personal],
    )
    return render(request, "generator/team_tokens.html", context)


@require_POST
@login_required
def team_token_revoke(request, team_code, code):
    membership = team_access(request, team_code, Role.ADMIN)
    token = ApiToken.objects.filter(team=membership.team, code=code).first()
    if token is None:
        raise Http404("No such token")
    revoke_token(request.user, token)
    messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect(reverse("team_tokens", args=[membership.team.code]))
