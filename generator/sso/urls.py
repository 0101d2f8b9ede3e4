"""Single sign-on URLs, under /sso/: the provider's sign-in and callback, and allauth's pages
for a cancelled or failed sign-in (in our templates). allauth's own account pages (its login,
sign-up, password) are not mounted: ours are the only ones."""

from allauth.socialaccount import views as socialaccount_views
from django.urls import path
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

from . import views


def _ours(name):
    """allauth links to its own account pages by these names: send those links to ours."""
    return require_GET(RedirectView.as_view(pattern_name=name, query_string=True))


# Never reached by our pages; here so that allauth's names resolve (to our pages).
ALIASES = [
    path("account/login/", _ours("login"), name="account_login"),
    path("account/signup/", _ours("login"), name="account_signup"),
    path("account/inactive/", _ours("login"), name="account_inactive"),
    path("account/password/reset/", _ours("password_reset"), name="account_reset_password"),
    path("account/password/change/", _ours("password_change"), name="account_change_password"),
    path("account/social/signup/", _ours("login"), name="socialaccount_signup"),
    path("account/connections/", _ours("home"), name="socialaccount_connections"),
]

urlpatterns = ALIASES + [
    path(
        "login/cancelled/",
        socialaccount_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("login/error/", socialaccount_views.login_error, name="socialaccount_login_error"),
    path("<str:provider_id>/login/", views.login, name="openid_connect_login"),
    path("<str:provider_id>/login/callback/", views.callback, name="openid_connect_callback"),
]
