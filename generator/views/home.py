from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from ..models import Membership


@require_GET
@login_required
def home(request):
    """Send people to the team they last worked in, else their first team, else the team list."""
    memberships = Membership.objects.filter(user=request.user).order_by("team__name")
    current = memberships.filter(team_id=request.user.current_team_id).first()
    chosen = current or memberships.first()
    if chosen is None:
        return redirect("team_list")
    return redirect("studio", chosen.team.code)
