"""The one gate every team-scoped view goes through."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Role


def team_access(request, team_code, role=Role.VIEWER):
    """Return the caller's Membership (with .team) for the team with public code `team_code`.

    Outsiders get 404 (the team's existence is not revealed); members whose role is below
    `role` get 403. The team becomes the person's current team, so they land there next time.
    """
    user = request.user
    if not user.is_authenticated:
        raise Http404
    try:
        membership = Membership.objects.select_related("team").get(team__code=team_code, user=user)
    except (Membership.DoesNotExist, ValueError):
        raise Http404("No such team") from None
    if not membership.allows(role):
        raise PermissionDenied(f"This needs the {Role(role).label} role or higher.")
    if user.current_team_id != membership.team_id:
        user.current_team = membership.team
        user.save(update_fields=["current_team"])
    return membership
