"""Storage used per team: the real sizes of its stored files (recorded when they are written,
or backfilled for older rows), on the usage page and in the admin, the trash included until
it is purged."""

import io
import os

import pytest
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from generator.models import Job
from tests.factories import make_image


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def on_disk(*jobs):
    paths = [field.path for job in jobs for field in job.stored_files]
    return sum(os.path.getsize(path) for path in paths if os.path.exists(path))


def test_storage_used_is_the_real_size_of_the_teams_files(team_a, team_b, member, outsider):
    jobs = [make_image(team_a, member, files=True) for _ in range(3)]
    make_image(team_b, outsider, files=True)
    Job.objects.filter(pk=jobs[0].pk).update(trashed_at=jobs[0].created_at)
    used = team_a.storage_used()
    assert used["images"] == 3 and used["bytes"] == on_disk(*jobs) > 0
    assert used["trash_images"] == 1 and used["trash_bytes"] == on_disk(jobs[0])


def test_the_usage_page_shows_storage_to_members(member_client, team_a, member):
    jobs = [make_image(team_a, member, files=True) for _ in range(2)]
    page = member_client.get(reverse("usage", args=[team_a.code])).content.decode()
    assert f'<dd class="usage-storage">{filesizeformat(on_disk(*jobs))}</dd>' in page
    assert '<dd class="usage-stored-images">2</dd>' in page


def test_the_admin_team_list_shows_storage(admin_client, team_a, member):
    job = make_image(team_a, member, files=True)
    page = admin_client.get(reverse("admin:generator_team_changelist")).content.decode()
    assert filesizeformat(on_disk(job)) in page
    change = admin_client.get(reverse("admin:generator_team_change", args=[team_a.pk]))
    assert "1 images, " + filesizeformat(on_disk(job)) in change.content.decode()


def test_backfill_records_sizes_of_images_stored_before_sizes_were(team_a, member):
    jobs = [make_image(team_a, member, files=True) for _ in range(2)]
    os.remove(jobs[1].preview.path)  # a file already gone counts as nothing
    Job.objects.update(stored_bytes=None)
    out = io.StringIO()
    call_command("backfill_file_sizes", stdout=out)
    assert "2 images (1 files missing)" in out.getvalue()
    sizes = dict(Job.objects.values_list("pk", "stored_bytes"))
    assert sizes == {jobs[0].pk: on_disk(jobs[0]), jobs[1].pk: on_disk(jobs[1])}
