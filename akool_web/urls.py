from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in through the company's identity provider (404s while none is configured).
    path("sso/", include("generator.sso.urls")),
    path("", include("generator.urls")),
]

if settings.AKOOL_SANDBOX:
    urlpatterns.append(path("sandbox/akool/", include("generator.sandbox.urls")))
