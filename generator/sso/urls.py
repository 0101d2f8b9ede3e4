"""Single sign-on URLs, under /sso/: the provider's sign-in and callback, and allauth's pages
for a cancelled or failed sign-in (in our templates). allauth's own account pages (its login,
sign-up, password) are not mounted: ours are the only ones."""

from allauth.socialaccount import views as socialaccount_views
from django.urls import path

from . import views

urlpatterns = [
    path(
        "login/cancelled/",
        socialaccount_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("login/error/", socialaccount_views.login_error, name="socialaccount_login_error"),
    path("<str:provider_id>/login/", views.login, name="openid_connect_login"),
    path("<str:provider_id>/login/callback/", views.callback, name="openid_connect_callback"),
]
