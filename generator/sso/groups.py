"""Groups from the identity provider → team memberships, applied at each sign-in.

OIDC_GROUP_ROLES lists "group:team-code:role" entries, comma-separated, e.g.

    akool-design:3f0c…-uuid:member,akool-design-admins:3f0c…-uuid:admin

(the team code is the id in the team's address, /t/<code>/; the group is the value the
provider puts in the OIDC_GROUPS_CLAIM claim, and may itself hold colons).

Every team named in the mapping is managed by it: at each sign-in the person's role there
becomes the highest role any of their groups gives, and they leave the team when no group
gives one. Teams the mapping does not name are never touched, and nothing changes when the
provider sends no groups claim at all (as opposed to an empty one). The last owner of a team is
never demoted or removed. Each change is written to the team's audit log.
"""

import logging
import uuid
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from .. import audit
from ..models import ROLE_RANK, AuditAction, Membership, Role, Team

logger = logging.getLogger(__name__)

VIA = "identity provider"


@dataclass(frozen=True)
class GroupRole:
    group: str
    team_code: uuid.UUID
    role: str


def parse_group_roles(raw, name="OIDC_GROUP_ROLES"):
    """The mapping as GroupRole rows; ImproperlyConfigured naming `name` when malformed."""
    rows = []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        parts = entry.rsplit(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise ImproperlyConfigured(
                f"{name} entries must read group:team-code:role, got {entry!r}"
            )
        group, code, role = parts
        try:
            team_code = uuid.UUID(code)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {code!r} in {entry!r} is not a team code (the id in /t/<code>/)"
            ) from None
        if role not in Role.values:
            raise ImproperlyConfigured(
                f"{name}: the role in {entry!r} must be one of {', '.join(Role.values)}"
            )
        rows.append(GroupRole(group, team_code, role))
    return rows


@cache
def _parsed(raw):
    return tuple(parse_group_roles(raw))


def group_roles():
    return _parsed(settings.OIDC_GROUP_ROLES)


def groups_in(claims):
    """The person's groups from the claims (a lone string counts as one), or None when the
    claim is missing altogether."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return None


def desired_roles(groups, mapping):
    """{team code: role} for every team the mapping names: the highest role the person's
    groups give, or None when none of them does."""
    wanted = {row.team_code: None for row in mapping}
    for row in mapping:
        if row.group in groups:
            current = wanted[row.team_code]
            if current is None or ROLE_RANK[row.role] > ROLE_RANK[current]:
                wanted[row.team_code] = row.role
    return wanted


def _is_last_owner(membership):
    if membership.role != Role.OWNER:
        return False
    owners = membership.team.lock_owners()
    return len(owners) <= 1


def apply_group_roles(user, claims, mapping=None):
    """Bring `user`'s memberships of the mapped teams in line with their groups; returns the
    list of changes made as (team, what) pairs, for the log."""
    mapping = group_roles() if mapping is None else mapping
    if not mapping:
        return []
    groups = groups_in(claims)
    if groups is None:
        # Not "no groups": the provider did not send the claim (not released to this client,
        # or a scope missing). Taking that as "in no group" would empty every mapped team.
        logger.warning(
            "The identity provider sent no %r claim for %s; team memberships left as they are",
            settings.OIDC_GROUPS_CLAIM,
            user.email,
        )
        return []
    wanted = desired_roles(groups, mapping)
    teams = {team.code: team for team in Team.objects.filter(code__in=wanted)}
    for code in wanted.keys() - teams.keys():
        logger.warning("OIDC_GROUP_ROLES names a team that does not exist: %s", code)
    changes = []
    with transaction.atomic():
        for code, role in wanted.items():
            team = teams.get(code)
            if team is None:
                continue
            change = _apply_one(user, team, role, sorted(groups))
            if change:
                changes.append((team, change))
        if changes and user.current_team_id is None:
            joined = [team for team, change in changes if change == "joined"]
            if joined:
                user.current_team = joined[0]
                user.save(update_fields=["current_team"])
    return changes


def _apply_one(user, team, role, groups):
    membership = (
        Membership.objects.select_for_update().select_related("team").filter(team=team, user=user)
    ).first()
    if membership is None:
        if role is None:
            return ""
        Membership.objects.create(team=team, user=user, role=role)
        audit.record(user, team, AuditAction.MEMBER_JOINED, target=user.email, role=role, via=VIA)
        return "joined"
    if membership.role == role:
        return ""
    if _is_last_owner(membership):
        logger.warning(
            "Kept %s as the last owner of team %s although their groups say %s",
            user.email,
            team.code,
            role or "no role",
        )
        return ""
    if role is None:
        old = membership.role
        membership.delete()
        team.clear_current_team([user.pk])
        audit.record(user, team, AuditAction.MEMBER_REMOVED, target=user.email, role=old, via=VIA)
        return "removed"
    old, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    audit.record(
        user, team, AuditAction.ROLE_CHANGED, target=user.email, old=old, new=role, via=VIA
    )
    return "role"
