from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from .api import not_found as api_not_found
from .api import urls as api_urls
from .views import (
    accounts,
    audit,
    credentials,
    home,
    hooks,
    members,
    moderation,
    my_data,
    notifications,
    shares,
    studio,
    teams,
    tokens,
    usage,
)
from .views.health import healthz

team = "t/<uuid:team_code>/"


class ShareFileKind:
    """The files a share link hands out (no 2x thumbnail: the public page does not use it)."""

    regex = "original|preview|thumb"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ShareFileKind, "sharekind")

urlpatterns = [
    path("", home.home, name="home"),
    # --- accounts
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("account/", accounts.account, name="account"),
    path("signup/", accounts.signup, name="signup"),
    path("account/data/", my_data.my_data, name="my_data"),
    path("account/data/export/", my_data.my_data_export, name="my_data_export"),
    path("invite/<uuid:code>/", accounts.invite, name="invite"),
    path("account/tokens/", tokens.account_tokens, name="account_tokens"),
    path(
        "account/tokens/<uuid:code>/revoke/",
        tokens.account_token_revoke,
        name="account_token_revoke",
    ),
    # --- teams
    path("teams/", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/switch/", teams.team_switch, name="team_switch"),
    path(team, studio.studio, name="studio"),
    path(team + "leave/", teams.team_leave, name="team_leave"),
    path(team + "settings/", teams.team_settings, name="team_settings"),
    path(team + "settings/details/", teams.team_details, name="team_details"),
    path(team + "members/role/", members.member_role, name="member_role"),
    path(team + "members/remove/", members.member_remove, name="member_remove"),
    path(team + "transfer/", teams.team_transfer, name="team_transfer"),
    path(team + "delete/", teams.team_delete, name="team_delete"),
    path(team + "budget/", teams.team_budget, name="team_budget"),
    path(team + "members/cap/", members.member_cap, name="member_cap"),
    path(team + "retention/", teams.team_retention, name="team_retention"),
    path(team + "moderation/", moderation.blocked_phrases, name="blocked_phrases"),
    path(team + "moderation/test/", moderation.moderation_test, name="moderation_test"),
    path(team + "audit/", audit.audit_log, name="audit_log"),
    path(team + "usage/", usage.usage, name="usage"),
    path(team + "usage.csv", usage.usage_csv, name="usage_csv"),
    path(team + "invitations/", teams.invitation_create, name="invitation_create"),
    path(
        team + "invitations/<uuid:code>/revoke/",
        teams.invitation_revoke,
        name="invitation_revoke",
    ),
    path(team + "credentials/", credentials.credentials_save, name="credentials_save"),
    path(team + "credentials/remove/", credentials.credentials_remove, name="credentials_remove"),
    path(team + "credentials/test/", credentials.credentials_test, name="credentials_test"),
    path(team + "tokens/", tokens.team_tokens, name="team_tokens"),
    path(team + "tokens/<uuid:code>/revoke/", tokens.team_token_revoke, name="team_token_revoke"),
    path(team + "notifications/", notifications.channel_list, name="channel_list"),
    path(team + "notifications/new/", notifications.channel_create, name="channel_create"),
    path(
        team + "notifications/<uuid:channel_code>/",
        notifications.channel_detail,
        name="channel_detail",
    ),
    path(
        team + "notifications/<uuid:channel_code>/test/",
        notifications.channel_test,
        name="channel_test",
    ),
    path(
        team + "notifications/<uuid:channel_code>/log/",
        notifications.channel_log,
        name="channel_log",
    ),
    path(
        team + "notifications/<uuid:channel_code>/delete/",
        notifications.channel_delete,
        name="channel_delete",
    ),
    path(team + "shares/", shares.share_list, name="share_list"),
    path(team + "shares/new/", shares.share_create, name="share_create"),
    path(team + "shares/settings/", shares.share_settings, name="share_settings"),
    path(team + "shares/<uuid:link_code>/edit/", shares.share_edit, name="share_edit"),
    path(team + "shares/<uuid:link_code>/revoke/", shares.share_revoke, name="share_revoke"),
]

urlpatterns += [
    path(team, include("generator.urls_studio")),
    # Called by Akool, not by people: no login, checked by signature or signed token.
    path("hooks/akool/<str:token>/", hooks.akool_webhook, name="akool_webhook"),
    # Source images Akool fetches (uploads and "use as source"): see source_links.py.
    path("source/<str:token>/", hooks.source_image, name="source_image"),
    # Share links: anyone holding one, no login (views/shares.py).
    path("s/<str:token>/", shares.share_page, name="share_page"),
    path("s/<str:token>/<int:number>/<sharekind:kind>/", shares.share_file, name="share_file"),
]

urlpatterns += [
    # The REST API, its OpenAPI document (openapi.json) and docs page (docs): generator/api/.
    path("api/v1/", api_urls()),
    path("api/v1/<path:rest>", api_not_found),
]

urlpatterns += [
    # For load balancers and monitors: no login, no secrets, 503 when something is down.
    path("healthz/", healthz, name="healthz"),
]
