"""Akool's paths, under /sandbox/akool/ (the app's AKOOL_SANDBOX_URL points here)."""

from django.urls import path, re_path

from . import cdn, views

app_name = "sandbox"

urlpatterns = [
    path("api/open/v4/content/image/createBySourcePrompt", views.create_v4, name="create"),
    path("api/open/v3/content/image/createbyprompt", views.create_v3, name="create_v3"),
    path("api/open/v3/content/image/createbybutton", views.create_by_button, name="button"),
    path("api/open/v3/content/image/infobymodelid", views.image_result, name="result"),
    path("api/open/v3/faceswap/quota/info", views.credit_info, name="credit"),
    path("api/open/v3/getToken", views.get_token, name="token"),
    re_path(r"^cdn/(?P<job_id>[0-9a-f]{24})\.png$", cdn.cdn_image, name="cdn"),
]
