"""Media on S3-compatible storage, against a real S3 server (moto's) on loopback.

A real worker stores a generation's files in the bucket; members see thumbnails and previews
through the app (proxied: the CSP allows images from 'self' only) and open or download the
original through a presigned link that expires after a few minutes; outsiders get 404 and no
link at all.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.test import Client
from django.urls import reverse
from PIL import Image

from generator.lib.imaging import PREVIEW_SIZE
from generator.models import Job, Role, State
from generator.starters import start_generation
from tests.factories import image_bytes, make_generation, make_job, make_team, make_user
from tests.fixtures_pipeline import wait_for
from tests.s3_server import BUCKET, s3_env, start_server
from tests.s3_server import client as s3_client


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server on loopback only, for the whole session."""
    server, endpoint = start_server()
    yield endpoint
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in listed:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def storages_from_env(env):
    """STORAGES as settings.py builds it from `env`, so the test process uses the same."""
    code = "import json, akool_web.settings as s; print(json.dumps(s.STORAGES['default']))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def s3_settings(pipeline_settings, s3, s3_endpoint):
    default = storages_from_env(s3_env(s3_endpoint))
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    pipeline_settings.STORAGES = {**pipeline_settings.STORAGES, "default": default}
    return pipeline_settings


@pytest.fixture
def team(s3_settings):
    return make_team("Bucket team", sandbox=True)


def person(team, email, role=Role.OWNER):
    user = make_user(email, team, role)
    client = Client()
    client.force_login(user)
    return user, client


def bucket_keys(s3):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_generation_is_stored_in_the_bucket_and_served_to_its_team_only(
    team, s3, s3_endpoint, start_worker
):
    owner, owner_client = person(team, "owner@bucket.example")
    _, outsider_client = person(make_team("Elsewhere"), "out@else.example")
    generation = make_generation(
        team, owner, "a lighthouse in a bucket", batch=2, resolution="1080p"
    )
    start_generation(generation)
    worker = start_worker(**s3_env(s3_endpoint))
    jobs = Job.objects.filter(generation=generation)
    wait_for(
        lambda: set(jobs.values_list("state", flat=True)) == {State.DONE},
        timeout=120,
        message=f"two images stored in S3; worker log:\n{worker.output()[-3000:]}",
    )

    # Each image's three stored files (original, 1x and 2x thumbnails) are in the bucket, once
    # each, and nothing else is: the preview waits for its first view.
    expected = sorted(
        name
        for job in jobs
        for name in (job.original.name, job.thumbnail.name, job.thumbnail_2x.name)
    )
    assert len(set(expected)) == 6 and bucket_keys(s3) == expected
    assert not any(job.preview for job in jobs)

    job = jobs.first()
    stored = s3.get_object(Bucket=BUCKET, Key=job.original.name)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == job.sha256
    assert len(stored) == job.original_bytes and stored.startswith(b"\x89PNG")

    def url(kind, **query):
        return reverse("image_file", args=[team.code, job.code, kind]) + (
            "?download=1" if query.get("download") else ""
        )

    # Thumbnails and previews come through the app (same origin for the CSP); the first view
    # of the preview makes it from the original in the bucket and keeps it there.
    for kind in ("thumb", "thumb2x", "preview", "preview"):
        response = owner_client.get(url(kind))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/webp"
        body = b"".join(response.streaming_content)
        assert body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    before = job.stored_bytes
    job.refresh_from_db()
    assert job.preview and bucket_keys(s3) == sorted([*expected, job.preview.name])
    preview = s3.get_object(Bucket=BUCKET, Key=job.preview.name)["Body"].read()
    assert job.stored_bytes == before + len(preview)
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == min(PREVIEW_SIZE, max(job.width, job.height))

    # A download carries the prompt and parameters inside the file, streamed through the app
    # from the bucket; the pixels are the stored ones.
    response = owner_client.get(url("original", download=True))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = b"".join(response.streaming_content)
    assert len(body) == int(response["Content-Length"]) > len(stored)
    with Image.open(io.BytesIO(body)) as written, Image.open(io.BytesIO(stored)) as original:
        assert written.text["parameters"].startswith("a lighthouse in a bucket")
        assert written.tobytes() == original.tobytes()

    # Opening the original is a presigned link to the bucket that dies in five minutes.
    response = owner_client.get(url("original"))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    link = response["Location"]
    assert link.startswith(f"{s3_endpoint}/{BUCKET}/")
    query = parse_qs(urlparse(link).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-type"] == ["image/png"]
    disposition = query["response-content-disposition"][0]
    assert disposition.startswith("inline")
    fetched = requests.get(link, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == stored
    # Without the signature the bucket refuses: the objects are private.
    bare = requests.get(link.split("?")[0], timeout=10)
    assert bare.status_code == 403

    # Outsiders: 404 for every kind, and never a link.
    for kind in ("thumb", "preview", "original"):
        for download in (False, True):
            response = outsider_client.get(url(kind, download=download))
            assert response.status_code == 404
            assert "Location" not in response


@pytest.mark.django_db(transaction=True)
def test_emptying_the_trash_removes_a_deleted_images_objects_from_the_bucket(team, s3):
    from django.core.files.base import ContentFile

    owner, owner_client = person(team, "owner@bucket.example")
    generation = make_generation(team, owner, "short-lived")
    keep, drop = (make_job(generation=generation, state=State.DONE, format="PNG") for _ in range(2))
    for job in (keep, drop):
        job.original.save(f"{job.code}.png", ContentFile(b"\x89PNG fake"), save=False)
        job.thumbnail.save(f"{job.code}.webp", ContentFile(b"RIFF thumb"), save=False)
        job.preview.save(f"{job.code}.webp", ContentFile(b"RIFF preview"), save=False)
        job.save()
    assert len(bucket_keys(s3)) == 6

    response = owner_client.post(reverse("image_delete", args=[team.code, drop.code]))
    assert response.status_code == 302
    # In the trash it can still be restored, so its objects stay until the trash is emptied.
    assert len(bucket_keys(s3)) == 6
    response = owner_client.post(reverse("trash_empty", args=[team.code]), {"confirm": "yes"})
    assert response.status_code == 302
    assert bucket_keys(s3) == sorted([keep.original.name, keep.thumbnail.name, keep.preview.name])


@pytest.mark.django_db(transaction=True)
def test_healthz_checks_the_bucket(team, s3, client):
    response = client.get(reverse("healthz"))
    assert response.json()["checks"]["storage"] == "ok"
    # The probe cleans up after itself.
    assert bucket_keys(s3) == []


# --- local storage handed to the reverse proxy -----------------------------------------------


@pytest.fixture
def stored_job(settings, tmp_path, team_a, owner):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path / "media"
    job = make_job(
        generation=make_generation(team_a, owner, "proxied"), state=State.DONE, format="PNG"
    )
    job.original.save(f"{job.code}.png", ContentFile(image_bytes("PNG", (8, 8))), save=False)
    job.save()
    return job


@pytest.mark.django_db
def test_local_media_is_handed_to_nginx_after_the_team_check(
    settings, stored_job, owner_client, outsider_client
):
    settings.MEDIA_ACCEL_REDIRECT = "/protected-media/"
    url = reverse("image_file", args=[stored_job.team.code, stored_job.code, "original"])
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{stored_job.original.name}"
    assert response["Content-Disposition"].startswith("inline")
    assert response.content == b""  # nginx sends the bytes
    outsider = outsider_client.get(url)
    assert outsider.status_code == 404 and "X-Accel-Redirect" not in outsider
    # A download carries the prompt inside the file, so the app writes it out itself.
    download = owner_client.get(url + "?download=1")
    assert "X-Accel-Redirect" not in download
    assert download["Content-Disposition"].startswith("attachment")
    assert b"proxied" in b"".join(download.streaming_content)


@pytest.mark.django_db
def test_local_media_can_use_x_sendfile(settings, stored_job, owner_client):
    settings.MEDIA_ACCEL_REDIRECT = "x-sendfile"
    url = reverse("image_file", args=[stored_job.team.code, stored_job.code, "original"])
    response = owner_client.get(url)
    assert response["X-Sendfile"] == str(settings.MEDIA_ROOT / stored_job.original.name)
    assert response["Content-Disposition"].startswith("inline")
