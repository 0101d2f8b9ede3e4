from django.conf import settings


def teams(request):
    """The signed-in person's teams and current team, for the header's team switcher.

    `current_team` is only set while the person is still a member of it, so a stale pointer
    (they left or were removed) never shows a team they cannot open.
    """
    context = {"allow_signup": settings.ALLOW_SIGNUP}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        # A fragment has no header to fill; a history restore is a whole page again.
        return context
    from .access import my_memberships
    from .models import Role

    memberships = my_memberships(request)
    current = next((m for m in memberships if m.team_id == user.current_team_id), None)
    context.update(
        my_teams=[m.team for m in memberships],
        current_team=current.team if current else None,
        current_membership=current,
        current_is_admin=bool(current and current.allows(Role.ADMIN)),
    )
    return context
