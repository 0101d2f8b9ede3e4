"""The studio's URLs: generating, the gallery, and one image's view, files and actions.

Included from generator/urls.py with `path("", include("generator.urls_studio"))`; the studio
page itself (`studio`, t/<team>/) is listed there.
"""

from django.urls import path, register_converter

from .views import files, gallery, studio


class ImageKind:
    regex = "original|preview|thumb"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ImageKind, "imagekind")

team = "t/<uuid:team_code>/"
image = team + "images/<uuid:job_code>/"

urlpatterns = [
    path(team + "generate/", studio.generate, name="studio_generate"),
    path(team + "estimate/", studio.estimate, name="studio_estimate"),
    path(team + "gallery/", gallery.gallery_page, name="studio_gallery"),
    path(team + "poll/", gallery.poll, name="studio_poll"),
    path(image, gallery.image_detail, name="image_detail"),
    path(image + "<imagekind:kind>/", files.image_file, name="image_file"),
    path(image + "star/", gallery.image_star, name="image_star"),
    path(image + "delete/", gallery.image_delete, name="image_delete"),
    path(image + "dismiss/", gallery.image_dismiss, name="image_dismiss"),
    path(image + "retry/", gallery.image_retry, name="image_retry"),
    path(image + "button/", gallery.image_button, name="image_button"),
]
