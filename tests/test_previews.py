"""The large preview is made from the stored original on its first view, kept, and counted."""

import io
import logging
import os

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from generator.models import Job, ShareLink
from generator.previews import PreviewUnavailable, ensure_preview
from tests.factories import image_bytes, make_image

pytestmark = pytest.mark.django_db

SIZE = (1800, 1200)  # larger than the preview, so the preview is a real reduction


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stored(team_a, member):
    """A job as the store step leaves it now: original and thumbnails, no preview."""
    job = make_image(team_a, member, files=True)
    job.preview.delete(save=False)
    job.original.save(f"{job.code}.png", ContentFile(image_bytes("PNG", SIZE)), save=False)
    job.width, job.height = SIZE
    job.stored_bytes = sum(field.size for field in job.stored_files)
    job.save()
    return job


def preview_url(job):
    return reverse("image_file", args=[job.team.code, job.code, "preview"])


def preview_files(media):
    return sorted(p for p in (media / "previews").rglob("*") if p.is_file())


def body(response):
    return b"".join(response.streaming_content)


def test_the_first_view_makes_the_preview_keeps_it_and_counts_its_bytes(
    stored, member_client, media
):
    before = stored.stored_bytes
    assert preview_files(media) == []

    first = member_client.get(preview_url(stored))
    assert first.status_code == 200 and first["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(body(first))) as image:
        assert (image.format, image.size) == ("WEBP", (1440, 960))

    stored.refresh_from_db()
    [kept] = preview_files(media)
    assert stored.preview.path == str(kept)
    assert stored.stored_bytes == before + kept.stat().st_size
    assert stored.preview in stored.stored_files  # deleted and purged with the image

    # Later views serve the kept file: nothing is made again.
    made_at = kept.stat().st_mtime_ns
    again = member_client.get(preview_url(stored))
    assert again.status_code == 200 and body(again) == kept.read_bytes()
    assert preview_files(media) == [kept] and kept.stat().st_mtime_ns == made_at


def test_two_first_views_at_once_keep_one_file(stored, media):
    # Both requests loaded the row before either had made the preview.
    one, other = Job.objects.get(pk=stored.pk), Job.objects.get(pk=stored.pk)
    winner = ensure_preview(one).name
    assert ensure_preview(other).name == winner
    assert [p.name for p in preview_files(media)] == [os.path.basename(winner)]
    stored.refresh_from_db()
    assert stored.preview.name == winner
    assert stored.stored_bytes == sum(field.size for field in stored.stored_files)


def test_a_missing_original_is_a_plain_404_and_a_log_line(stored, member_client, caplog):
    os.remove(stored.original.path)
    with caplog.at_level(logging.WARNING, logger="generator.previews"):
        response = member_client.get(preview_url(stored))
    assert response.status_code == 404
    assert f"no preview for job {stored.pk}" in caplog.text
    stored.refresh_from_db()
    assert not stored.preview
    with pytest.raises(PreviewUnavailable):
        ensure_preview(stored)


def test_an_outsider_never_gets_one_made(stored, outsider_client, media):
    assert outsider_client.get(preview_url(stored)).status_code == 404
    assert preview_files(media) == []


def test_a_share_link_makes_it_for_a_visitor_too(stored, member, client, media):
    _, token = ShareLink.create(stored.team, member, [stored])
    response = client.get(reverse("share_file", args=[token, 1, "preview"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(body(response))) as image:
        assert image.size == (1440, 960)
    assert len(preview_files(media)) == 1


def test_an_image_deleted_while_its_preview_was_made_is_unavailable_not_an_error(stored, media):
    loaded = Job.objects.get(pk=stored.pk)
    Job.objects.filter(pk=stored.pk).delete()
    with pytest.raises(PreviewUnavailable):
        ensure_preview(loaded)
    assert preview_files(media) == []  # the file made for it is not left behind
