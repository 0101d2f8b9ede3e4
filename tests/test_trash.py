"""The team's trash: deleting moves an image there and out of every listing; it can be
restored (by whoever may delete it) until the team's trash days pass, then the daily purge
removes its files (on local storage and on S3) and its row. Admins can empty it at once."""

import datetime as dt
import os
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from generator import tasks, trash
from generator.cursors import make_live_token
from generator.models import (
    AuditAction,
    AuditEntry,
    Board,
    CardRemoval,
    Favourite,
    Job,
    ShareLink,
)
from tests.factories import make_image
from tests.test_s3_storage import (  # noqa: F401 (fixtures)
    bucket_keys,
    s3,
    s3_endpoint,
    s3_env,
    storages_from_env,
)

HX = {"HTTP_HX_REQUEST": "true"}
# A quiet moment, well away from month edges: the trash counts whole days.
START = dt.datetime(2027, 5, 12, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def delete(client, team, job, **extra):
    return client.post(reverse("image_delete", args=[team.code, job.code]), **extra)


def restore(client, team, *jobs):
    return client.post(
        reverse("trash_restore", args=[team.code]), {"codes": [str(j.code) for j in jobs]}
    )


def paths(job):
    return [field.path for field in job.stored_files]


@pytest.fixture
def purge_on(clock, django_capture_on_commit_callbacks):
    """Run the daily purge task `day` days after START, with its after-commit file removal."""

    def run(day):
        clock.move_to(START + timedelta(days=day), tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.purge_trash()

    return run


# --- out of every listing --------------------------------------------------------------------


def test_a_deleted_image_leaves_every_listing_but_keeps_its_files(
    member_client, owner_client, team_a, member, owner
):
    job = make_image(team_a, member, "a red kite over hills", files=True)
    kept = make_image(team_a, member, "a blue heron", files=True)
    board = Board.objects.create(team=team_a, name="Birds")
    board.add_jobs([job, kept], owner)
    link, _ = ShareLink.create(team_a, owner, [job, kept])
    since = make_live_token(timezone.now() - timedelta(seconds=1))

    assert delete(member_client, team_a, job).status_code == 302

    assert list(Job.objects.gallery(team_a, owner)) == [kept]
    studio = owner_client.get(reverse("studio", args=[team_a.code])).content.decode()
    assert str(job.code) not in studio and str(kept.code) in studio
    search = owner_client.get(reverse("studio", args=[team_a.code]), {"q": "kite"})
    assert str(job.code) not in search.content.decode()
    boards = owner_client.get(reverse("board_list", args=[team_a.code])).content.decode()
    assert "1 image" in boards and "2 images" not in boards
    assert list(link.shared_jobs()) == [kept]
    zipped = owner_client.post(reverse("studio_zip", args=[team_a.code]), {"codes": [job.code]})
    assert zipped.status_code == 400
    # A teammate's open gallery drops the card: the live poller reads the tombstone.
    poll = owner_client.get(reverse("studio_poll", args=[team_a.code]), {"since": since}, **HX)
    assert re.search(rf'data-gone="[^"]*{job.code}', poll.content.decode())
    assert list(CardRemoval.objects.values_list("code", flat=True)) == [job.code]
    # Restorable, so nothing is removed from storage yet.
    assert all(os.path.exists(p) for p in paths(job))
    job.refresh_from_db()
    assert job.trashed_by == member and job.trashed_at is not None


# --- the trash page and restoring ------------------------------------------------------------


def test_the_trash_page_lists_deleted_images_with_their_purge_day(
    clock, member_client, team_a, member
):
    job = make_image(team_a, member, "a lighthouse at dawn")
    delete(member_client, team_a, job)
    page = member_client.get(reverse("trash_list", args=[team_a.code])).content.decode()
    assert "a lighthouse at dawn" in page
    assert "11 Jun 2027" in page  # 30 days after 12 May


def test_a_member_restores_their_own_image_but_not_a_teammates(
    member_client, team_a, member, owner, owner_client
):
    own, theirs = make_image(team_a, member), make_image(team_a, owner)
    delete(member_client, team_a, own)
    delete(owner_client, team_a, theirs)
    response = restore(member_client, team_a, own, theirs)
    assert response.status_code == 302
    assert set(Job.objects.kept().values_list("pk", flat=True)) == {own.pk}
    entry = AuditEntry.objects.get(action=AuditAction.IMAGE_RESTORED)
    assert entry.details["images"] == [str(own.code)]
    page = member_client.get(reverse("trash_list", args=[team_a.code])).content.decode()
    assert "Skipped 1 image" in page


def test_an_admin_restores_many_at_once(team_admin_client, member_client, team_a, member):
    jobs = [make_image(team_a, member) for _ in range(3)]
    for job in jobs:
        delete(member_client, team_a, job)
    restore(team_admin_client, team_a, *jobs[:2])
    assert set(Job.objects.kept().values_list("pk", flat=True)) == {jobs[0].pk, jobs[1].pk}
    assert list(Job.objects.in_trash()) == [jobs[2]]


def test_viewers_cannot_restore_and_outsiders_see_no_trash(
    viewer_client, outsider_client, member_client, team_a, member
):
    job = make_image(team_a, member)
    delete(member_client, team_a, job)
    assert restore(viewer_client, team_a, job).status_code == 403
    assert outsider_client.get(reverse("trash_list", args=[team_a.code])).status_code == 404
    assert restore(outsider_client, team_a, job).status_code == 404
    assert Job.objects.in_trash().count() == 1


# --- purging -----------------------------------------------------------------------------------


def test_the_daily_purge_removes_files_and_rows_after_the_trash_days(
    clock, purge_on, member_client, team_a, member
):
    gone = make_image(team_a, member, files=True)
    later = make_image(team_a, member, files=True)
    delete(member_client, team_a, gone)
    clock.move_to(START + timedelta(days=5), tick=False)
    delete(member_client, team_a, later)
    files_gone, files_later = paths(gone), paths(later)

    purge_on(29)
    assert Job.objects.in_trash().count() == 2
    assert all(os.path.exists(p) for p in files_gone)

    purge_on(31)
    assert list(Job.objects.in_trash()) == [later]
    assert not any(os.path.exists(p) for p in files_gone)
    assert all(os.path.exists(p) for p in files_later)
    entry = AuditEntry.objects.get(action=AuditAction.TRASH_PURGED)
    assert entry.actor is None and entry.target == "1 image"
    assert entry.details["bytes"] == gone.stored_bytes > 0

    purge_on(36)
    assert not Job.objects.exists()
    assert not any(os.path.exists(p) for p in files_later)


def test_a_team_with_a_short_trash_purges_sooner(purge_on, member_client, team_a, member):
    team_a.trash_days = 7
    team_a.save()
    job = make_image(team_a, member, files=True)
    delete(member_client, team_a, job)
    purge_on(6)
    assert Job.objects.filter(pk=job.pk).exists()
    purge_on(8)
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_purged_image_cannot_be_restored(purge_on, member_client, team_a, member):
    job = make_image(team_a, member)
    delete(member_client, team_a, job)
    purge_on(31)
    restore(member_client, team_a, job)
    assert not Job.objects.exists()


def test_only_admins_empty_the_trash_and_only_when_confirmed(
    member_client, team_admin_client, team_a, member, django_capture_on_commit_callbacks
):
    job = make_image(team_a, member, files=True)
    delete(member_client, team_a, job)
    url = reverse("trash_empty", args=[team_a.code])
    assert member_client.post(url, {"confirm": "yes"}).status_code == 403
    team_admin_client.post(url)
    assert Job.objects.in_trash().count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        team_admin_client.post(url, {"confirm": "yes"})
    assert not Job.objects.exists()
    assert not any(os.path.exists(p) for p in paths(job))
    entry = AuditEntry.objects.get(action=AuditAction.TRASH_EMPTIED)
    assert entry.target == "1 image"


def test_starring_does_not_bring_an_image_back(member_client, team_a, member):
    job = make_image(team_a, member)
    delete(member_client, team_a, job)
    response = member_client.post(reverse("image_star", args=[team_a.code, job.code]))
    assert response.status_code == 404
    assert not Favourite.objects.exists()


# --- S3 ---------------------------------------------------------------------------------------


@pytest.fixture
def s3_storage(settings, s3, s3_endpoint):  # noqa: F811 (the imported fixtures)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storages_from_env(s3_env(s3_endpoint)),
    }
    return s3


def test_the_purge_removes_files_from_the_s3_bucket(
    s3_storage, team_a, member, django_capture_on_commit_callbacks
):
    assert default_storage.__class__.__name__ != "FileSystemStorage"
    job = make_image(team_a, member)
    for name in ("original", "thumbnail", "preview"):
        getattr(job, name).save(f"{job.code}-{name}.png", ContentFile(b"x" * 100), save=False)
    job.save()
    other = make_image(team_a, member)
    other.original.save(f"{other.code}.png", ContentFile(b"y" * 10))
    assert default_storage.exists(job.original.name)
    assert len(bucket_keys(s3_storage)) == 4
    Job.objects.filter(pk=job.pk).update(trashed_at=START)

    with django_capture_on_commit_callbacks(execute=True):
        trash.purge_expired(now=START + timedelta(days=31))

    assert bucket_keys(s3_storage) == [other.original.name]
    assert list(Job.objects.all()) == [other]
