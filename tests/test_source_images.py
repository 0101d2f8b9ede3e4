"""Source images for image-to-image: uploads are re-encoded and kept under a generated name,
every media response is an inert image, and the signed links Akool fetches them from live
only as long as needed (one signer for uploads and gallery images)."""

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, resolve, reverse
from PIL import Image, PngImagePlugin

from generator import source_links
from generator.akool.client import AkoolError
from generator.lib.log_filters import redact
from generator.models import Generation, Job, State
from tests.factories import make_generation, make_image, on_sandbox

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
MEDIA_CSP = "default-src 'none'; img-src 'self'; sandbox"
AN_INSTANT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = ""
    return settings.MEDIA_ROOT


def png_with_html(size=(64, 48)):
    """A valid PNG that also carries an HTML page in a text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HTML.decode())
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_rotated_with_exif(size=(80, 60)):
    """A JPEG whose EXIF says "rotate 90°" and carries a comment."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; show it rotated
    exif[0x010E] = "<script>alert(1)</script>"  # ImageDescription
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_claiming(width, height):
    """A tiny file whose PNG header claims `width`×`height` pixels."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def generate(client, team, upload, **extra):
    data = {
        "prompt": "the same, at night",
        "mode": "i2i",
        "scale": "1:1",
        "resolution": "1080p",
        "batch": "1",
        "source_file": upload,
        **extra,
    }
    return client.post(reverse("studio_generate", args=[team.code]), data)


def fetch(client, url):
    return client.get(urlsplit(url).path)


def body(response):
    return b"".join(response.streaming_content)


# --- uploads are re-encoded and served as images ---------------------------------------------


def test_an_html_named_upload_with_html_inside_is_kept_and_served_as_a_clean_png(
    member_client, client, sandbox_team
):
    upload = SimpleUploadedFile("evil.html", png_with_html(), content_type="text/html")
    assert generate(member_client, sandbox_team, upload).status_code == 302
    generation = Generation.objects.get()
    name = generation.source_upload.name
    assert name.endswith(".png") and "evil" not in name
    response = fetch(client, generation.source_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == MEDIA_CSP
    served = body(response)
    assert served.startswith(b"\x89PNG") and b"<script" not in served
    assert Image.open(io.BytesIO(served)).size == (64, 48)


def test_a_jpeg_upload_loses_its_metadata_but_keeps_its_orientation(
    member_client, client, sandbox_team
):
    upload = SimpleUploadedFile("photo.jpeg", jpeg_rotated_with_exif(), content_type="image/jpeg")
    generate(member_client, sandbox_team, upload)
    generation = Generation.objects.get()
    assert generation.source_upload.name.endswith(".jpg")
    response = fetch(client, generation.source_url)
    assert response["Content-Type"] == "image/jpeg"
    served = body(response)
    assert b"<script" not in served
    image = Image.open(io.BytesIO(served))
    assert image.size == (60, 80) and not image.getexif()


def test_an_old_upload_under_a_name_that_is_not_an_image_is_not_served(client, sandbox_team):
    generation = make_generation(sandbox_team, prompt="x", mode="i2i")
    generation.source_upload.save("evil.html", ContentFile(png_with_html()))
    assert fetch(client, source_links.url_for(generation)).status_code == 404


@pytest.mark.parametrize("kind", ["original", "preview", "thumb"])
def test_team_media_is_served_inert(member_client, sandbox_team, owner, kind):
    job = make_image(sandbox_team, owner, files=True)
    response = member_client.get(reverse("image_file", args=[sandbox_team.code, job.code, kind]))
    assert response.status_code == 200
    assert response["Content-Type"] == ("image/png" if kind == "original" else "image/webp")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == MEDIA_CSP


# --- decompression bombs and unwritable storage ----------------------------------------------


def test_a_png_claiming_400_megapixels_is_a_form_error(member_client, sandbox_team):
    upload = SimpleUploadedFile("big.png", png_claiming(20_000, 20_000), content_type="image/png")
    response = generate(member_client, sandbox_team, upload)
    assert response.status_code == 200
    assert "too many pixels" in response.content.decode()
    assert not Generation.objects.exists()


def test_an_upload_with_storage_unwritable_is_a_form_error(
    member_client, sandbox_team, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    upload = SimpleUploadedFile("photo.png", png_with_html(), content_type="image/png")
    response = generate(member_client, sandbox_team, upload)
    assert response.status_code == 200
    assert "could not be stored right now" in response.content.decode()
    assert not Generation.objects.exists() and not Job.objects.exists()


# --- one signer, a short life, gone with the image -------------------------------------------


def test_uploads_and_gallery_images_share_one_link_view_and_redaction(sandbox_team, owner):
    job = make_image(sandbox_team, owner, files=True)
    generation = make_generation(sandbox_team, prompt="x", mode="i2i")
    generation.source_upload.save("a.png", ContentFile(png_with_html()))
    for source in (job, generation):
        path = urlsplit(source_links.url_for(source)).path
        assert resolve(path).url_name == "source_image"
        assert redact(f"GET {path} 200") == "GET /source/***/ 200"
    with pytest.raises(NoReverseMatch):
        reverse("image_source", args=["x"])


def test_a_gallery_link_lives_for_the_lifetime_akool_needs(client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, files=True)
    with time_machine.travel(AN_INSTANT, tick=False) as clock:
        url = source_links.url_for(job)
        clock.shift(source_links.LIFETIME - timedelta(minutes=1))
        assert fetch(client, url).status_code == 200
        clock.shift(timedelta(minutes=2))
        assert fetch(client, url).status_code == 404
    # Akool fetches at job start: a day is plenty, and a leaked link is dead the next day.
    assert timedelta(days=1) >= source_links.LIFETIME


def test_an_upload_link_lives_for_the_same_lifetime(client, sandbox_team):
    generation = make_generation(sandbox_team, prompt="x", mode="i2i")
    generation.source_upload.save("a.png", ContentFile(png_with_html()))
    with time_machine.travel(AN_INSTANT, tick=False) as clock:
        url = source_links.url_for(generation)
        clock.shift(source_links.LIFETIME + timedelta(minutes=1))
        assert fetch(client, url).status_code == 404


def test_a_link_stops_working_when_its_image_is_deleted(client, owner_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, files=True)
    url = source_links.url_for(job)
    assert fetch(client, url).status_code == 200
    owner_client.post(reverse("image_delete", args=[sandbox_team.code, job.code]))
    assert not Job.objects.kept().filter(pk=job.pk).exists()
    assert fetch(client, url).status_code == 404


def test_a_form_left_open_past_the_lifetime_still_gets_a_working_link(
    member_client, client, sandbox_team, owner
):
    job = make_image(sandbox_team, owner, files=True)
    with time_machine.travel(AN_INSTANT, tick=False) as clock:
        stale = source_links.url_for(job)
        clock.shift(timedelta(days=2))
        data = {
            "prompt": "the same, at night",
            "mode": "i2i",
            "scale": "1:1",
            "resolution": "1080p",
            "batch": "1",
            "source_url": stale,
        }
        member_client.post(reverse("studio_generate", args=[sandbox_team.code]), data)
        generation = Generation.objects.exclude(pk=job.generation_id).get()
        assert generation.source_url != stale
        assert fetch(client, generation.source_url).status_code == 200


def test_a_retry_sends_a_fresh_link(client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, files=True)
    with time_machine.travel(AN_INSTANT, tick=False) as clock:
        original = make_generation(
            sandbox_team, prompt="x", mode="i2i", source_url=source_links.url_for(job)
        )
        clock.shift(timedelta(days=3))
        again = original.copy(owner, batch=1)
        assert fetch(client, again.source_url).status_code == 200


def test_another_teams_link_is_not_taken_for_one_of_ours(sandbox_team, team_b, outsider, owner):
    from generator.forms import GenerationForm

    theirs = make_image(team_b, outsider, files=True)
    data = {
        "prompt": "x",
        "mode": "i2i",
        "scale": "1:1",
        "resolution": "1080p",
        "batch": "1",
        "source_url": source_links.url_for(theirs),
    }
    form = GenerationForm(data, team=sandbox_team)
    # Not ours, so it is an ordinary link: on loopback, refused like any private address.
    assert "private" in " ".join(form.errors["source_url"])
    assert Job.objects.get(pk=theirs.pk).state == State.DONE


# --- the sandbox fetches the app's own links, and only while they are valid ------------------


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_fetches_the_apps_signed_links_until_the_image_is_gone(
    sandbox_client, team_a, owner
):
    on_sandbox(team_a)
    job = make_image(team_a, owner, files=True)
    generation = make_generation(team_a, prompt="x", mode="i2i")
    generation.source_upload.save("a.png", ContentFile(png_with_html()))
    for source in (job, generation):
        created = sandbox_client.create_image(
            prompt="the same, at night", source_image=source_links.url_for(source)
        )
        assert created[0].sub_type == 40002
    url = source_links.url_for(job)
    job.delete()
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt="the same, at night", source_image=url)
    assert caught.value.code == 1003
