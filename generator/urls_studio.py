"""The studio's URLs: generating, the gallery, and one image's view, files and actions.

Included under a team's prefix (t/<team_code>/) from generator/urls.py, which also lists the
studio page itself (`studio`, the prefix alone).
"""

from django.urls import path, register_converter

from .views import (
    boards,
    bulk,
    compare,
    downloads,
    files,
    gallery,
    history,
    images,
    poll,
    presets,
    studio,
    trash,
)


class ImageKind:
    regex = "original|preview|thumb2x|thumb"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ImageKind, "imagekind")

image = "images/<uuid:job_code>/"

urlpatterns = [
    path("generate/", studio.generate, name="studio_generate"),
    path("estimate/", studio.estimate, name="studio_estimate"),
    path("form/", studio.generate_form, name="studio_form"),
    path("form/fill/", studio.fill_variables, name="studio_fill"),
    path("prompts/", history.prompt_history, name="prompt_history"),
    path("presets/", presets.preset_list, name="preset_list"),
    path("presets/new/", presets.preset_create, name="preset_create"),
    path("presets/pick/", presets.preset_picker, name="preset_picker"),
    path("presets/<uuid:preset_code>/", presets.preset_edit, name="preset_edit"),
    path("presets/<uuid:preset_code>/delete/", presets.preset_delete, name="preset_delete"),
    path("zip/", downloads.studio_zip, name="studio_zip"),
    path("gallery/", gallery.gallery_page, name="studio_gallery"),
    path("poll/", poll.poll, name="studio_poll"),
    path(image, images.image_detail, name="image_detail"),
    path(image + "<imagekind:kind>/", files.image_file, name="image_file"),
    path(image + "star/", images.image_star, name="image_star"),
    path(image + "delete/", images.image_delete, name="image_delete"),
    path(image + "dismiss/", images.image_dismiss, name="image_dismiss"),
    path(image + "retry/", images.image_retry, name="image_retry"),
    path(image + "button/", images.image_button, name="image_button"),
    path(image + "tags/", boards.image_tags, name="image_tags"),
    path(image + "boards/", boards.image_boards, name="image_boards"),
    path("bulk/", bulk.bulk, name="studio_bulk"),
    path("bulk/count/", bulk.bulk_count, name="studio_bulk_count"),
    path("compare/", compare.compare, name="studio_compare"),
    path("compare/selection/", compare.compare_selection, name="studio_compare_selection"),
    path("boards/", boards.board_list, name="board_list"),
    path("boards/new/", boards.board_create, name="board_create"),
    path("boards/<uuid:board_code>/edit/", boards.board_edit, name="board_edit"),
    path("boards/<uuid:board_code>/delete/", boards.board_delete, name="board_delete"),
    path("trash/", trash.trash_list, name="trash_list"),
    path("trash/restore/", trash.trash_restore, name="trash_restore"),
    path("trash/empty/", trash.trash_empty, name="trash_empty"),
]
