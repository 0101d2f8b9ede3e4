"""The one gate every team-scoped view goes through, and the context its pages start from."""

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from .models import Membership, Role, User


class TeamRequest(HttpRequest):
    """A request that passed `team_access`: signed in, a member, and `membership` (with its
    `.team`) set once, so helpers and templates ask it instead of querying again."""

    user: User
    htmx: HtmxDetails
    membership: Membership


def my_memberships(request):
    """The signed-in person's memberships (with .team), by team name: read once per request,
    for the gate below and the header's team switcher alike."""
    if not hasattr(request, "_my_memberships"):
        request._my_memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("team")
            .order_by("team__name")
        )
    return request._my_memberships


def team_access(request, team_code, role=Role.VIEWER):
    """Return the caller's Membership (with .team) for the team with public code `team_code`,
    and set it as `request.membership` (see TeamRequest).

    Outsiders get 404 (the team's existence is not revealed); members whose role is below
    `role` get 403. The team becomes the person's current team, so they land there next time.
    """
    user = request.user
    if not user.is_authenticated:
        raise Http404
    try:
        code = uuid.UUID(str(team_code))
    except ValueError:
        raise Http404("No such team") from None
    membership = next((m for m in my_memberships(request) if m.team.code == code), None)
    if membership is None:
        raise Http404("No such team")
    if not membership.allows(role):
        raise PermissionDenied(f"This needs the {Role(role).label} role or higher.")
    if user.current_team_id != membership.team_id:
        user.current_team = membership.team
        user.save(update_fields=["current_team"])
    request.membership = membership
    return membership


def team_context(request: TeamRequest, **extra):
    """The context every team page and fragment starts from, read from `request.membership`:
    the team, the caller's membership, and the two role questions templates ask most."""
    membership = request.membership
    return {
        "team": membership.team,
        "membership": membership,
        "is_admin": membership.is_admin,
        "can_edit": membership.can_edit,
        **extra,
    }
