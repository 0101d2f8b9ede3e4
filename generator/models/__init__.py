"""People, teams, credentials, and the generation pipeline's rows.

One module a feature; every public name is re-exported here, so `from generator.models import X`
is the one import path. The private defaults (`_webhook_token`, `_invite_expiry`) are re-exported
too because the initial migration refers to them by this path. Modules are imported in the order
the models were declared when this was one file, so the app registry lists them as before.
"""

from .people import User, UserManager  # noqa: I001 (declaration order, see above)
from .teams import (
    GENERATING_ROLES,
    NO_KEY,
    ROLE_RANK,
    UNREADABLE_KEY,
    Backend,
    Invitation,
    InvitationQuerySet,
    Membership,
    Role,
    Team,
    TeamQuerySet,
    _invite_expiry,
    _webhook_token,
)
from .generations import MODEL_FOR_MODE, Generation, Mode, Resolution, Scale
from .failures import Failure
from .states import FOLLOWED_STATES, PENDING_STATES, SETTLED_UNWELL, State
from .job_queries import JobQuerySet, kept
from .jobs import (
    BUTTONS,
    FILE_FIELDS,
    SCALE_ASPECTS,
    CardRemoval,
    Favourite,
    Job,
    PollerLease,
)
from .audit import AppendOnly, AuditAction, AuditEntry, AuditQuerySet
from .history import PromptHistory
from .shares import (
    EXPIRY_CHOICES,
    ShareKind,
    ShareLink,
    ShareLinkQuerySet,
)
from .tokens import (
    SCOPE_RANK,
    SECRET_PREFIX,
    ApiToken,
    ApiTokenQuerySet,
    IdempotencyKey,
    Scope,
    TokenKind,
    service_roles,
)
from .notifications import (
    SUBSCRIBABLE,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    Event,
)
from .boards import BOARD_NAME_MAX, TAG_NAME_MAX, Board, BoardImage, JobTag, Tag, clean_tag_name
from .presets import (
    PRESET_NAME_MAX,
    VARIABLE_VALUE_MAX,
    MissingVariables,
    PromptPreset,
    missing_message,
    variables_in,
)

__all__ = [
    "SCOPE_RANK",
    "SECRET_PREFIX",
    "ApiToken",
    "ApiTokenQuerySet",
    "IdempotencyKey",
    "Scope",
    "TokenKind",
    "service_roles",
    "BOARD_NAME_MAX",
    "BUTTONS",
    "FILE_FIELDS",
    "FOLLOWED_STATES",
    "GENERATING_ROLES",
    "MODEL_FOR_MODE",
    "NO_KEY",
    "PENDING_STATES",
    "PRESET_NAME_MAX",
    "ROLE_RANK",
    "SCALE_ASPECTS",
    "SETTLED_UNWELL",
    "TAG_NAME_MAX",
    "UNREADABLE_KEY",
    "VARIABLE_VALUE_MAX",
    "AppendOnly",
    "AuditAction",
    "AuditEntry",
    "AuditQuerySet",
    "Backend",
    "EXPIRY_CHOICES",
    "Board",
    "Channel",
    "ChannelKind",
    "Delivery",
    "DeliveryStatus",
    "Event",
    "SUBSCRIBABLE",
    "BoardImage",
    "CardRemoval",
    "Failure",
    "Favourite",
    "Generation",
    "Invitation",
    "InvitationQuerySet",
    "Job",
    "JobQuerySet",
    "JobTag",
    "Membership",
    "MissingVariables",
    "Mode",
    "PollerLease",
    "PromptHistory",
    "PromptPreset",
    "Resolution",
    "Role",
    "Scale",
    "ShareKind",
    "ShareLink",
    "ShareLinkQuerySet",
    "State",
    "Tag",
    "Team",
    "TeamQuerySet",
    "User",
    "UserManager",
    "_invite_expiry",
    "clean_tag_name",
    "kept",
    "missing_message",
    "variables_in",
    "_webhook_token",
]
