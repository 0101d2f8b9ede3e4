"""A team's retention policy: off by default; when on, the daily run moves finished images
older than its days to the trash, keeping starred images and images on a board, with one
summary audit entry; the settings page's dry run names exactly what the run then does."""

import datetime as dt
from datetime import timedelta

import pytest
from django.urls import reverse
from django_q.models import Schedule

from generator import retention, tasks
from generator.models import AuditAction, AuditEntry, Board, Favourite, Job, State
from tests.factories import make_image

NOW = dt.datetime(2027, 6, 15, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def aged(team, author, days, **kwargs):
    return make_image(team, author, created_at=NOW - timedelta(days=days), **kwargs)


@pytest.fixture
def gallery(clock, team_a, member, owner):
    """Old and new images, some of the old ones starred or on a board."""
    board = Board.objects.create(team=team_a, name="Keepers")
    images = {
        "old": aged(team_a, member, 100, files=True),
        "old_too": aged(team_a, owner, 95, files=True),
        "starred": aged(team_a, member, 120, files=True),
        "boarded": aged(team_a, owner, 200, files=True),
        "young": aged(team_a, member, 10, files=True),
        "old_failed": aged(team_a, member, 100, state=State.FAILED),
    }
    Favourite.objects.create(user=owner, job=images["starred"])
    board.add_jobs([images["boarded"]], owner)
    return images


def test_the_policy_is_off_by_default(gallery, team_a):
    assert team_a.retention_days is None
    assert retention.preview(team_a).images == 0
    tasks.apply_retention()
    assert Job.objects.in_trash().count() == 0
    assert not AuditEntry.objects.exists()


def test_the_daily_run_trashes_old_images_but_keeps_starred_and_boarded_ones(gallery, team_a):
    team_a.retention_days = 90
    team_a.save()
    tasks.apply_retention()
    trashed = set(Job.objects.in_trash().values_list("pk", flat=True))
    assert trashed == {gallery["old"].pk, gallery["old_too"].pk}
    entry = AuditEntry.objects.get()
    assert entry.action == AuditAction.RETENTION_APPLIED and entry.actor is None
    assert entry.target == "2 images" and entry.details["retention_days"] == 90
    # The trash keeps them restorable; nothing else is written per image.
    assert all(job.trashed_by_id is None for job in Job.objects.in_trash())
    # A second run the same day finds nothing more and writes nothing.
    tasks.apply_retention()
    assert AuditEntry.objects.count() == 1


def test_the_dry_run_equals_the_real_run(gallery, team_a, member):
    team_a.retention_days = 90
    team_a.save()
    expected = set(retention.candidates(team_a).values_list("pk", flat=True))
    preview = retention.preview(team_a)
    done = retention.apply(team_a)
    trashed = list(Job.objects.in_trash())
    assert preview == done
    assert preview.images == len(trashed) == 2
    assert {job.pk for job in trashed} == expected
    assert preview.bytes == sum(job.stored_bytes for job in trashed) > 0
    assert AuditEntry.objects.get().details["bytes"] == preview.bytes


def test_the_settings_page_previews_without_saving(gallery, owner_client, team_a):
    url = reverse("team_retention", args=[team_a.code])
    page = owner_client.post(url, {"trash_days": "30", "retention_days": "90", "preview": "1"})
    text = page.content.decode()
    assert "Preview, not saved" in text
    expected = retention.preview(type(team_a)(pk=team_a.pk, retention_days=90))
    assert f"{expected.images} images" in text and expected.images == 2
    team_a.refresh_from_db()
    assert team_a.retention_days is None
    assert not AuditEntry.objects.exists()


def test_saving_the_policy_is_audited_and_shown(gallery, owner_client, team_a):
    url = reverse("team_retention", args=[team_a.code])
    response = owner_client.post(url, {"trash_days": "14", "retention_days": "90", "save": "1"})
    assert response.status_code == 302
    team_a.refresh_from_db()
    assert (team_a.trash_days, team_a.retention_days) == (14, 90)
    entry = AuditEntry.objects.get(action=AuditAction.RETENTION_CHANGED)
    assert entry.details == {"trash_days": [30, 14], "retention_days": [None, 90]}
    page = owner_client.get(reverse("team_settings", args=[team_a.code])).content.decode()
    assert "2 images" in page and "would move to the trash now" in page


def test_a_bad_policy_is_refused_with_a_message(owner_client, team_a):
    url = reverse("team_retention", args=[team_a.code])
    response = owner_client.post(url, {"trash_days": "0", "retention_days": "abc"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Ensure this value is greater than or equal to 1" in text
    assert "Enter a whole number" in text


def test_members_cannot_change_the_policy(member_client, team_a):
    url = reverse("team_retention", args=[team_a.code])
    assert member_client.post(url, {"trash_days": "1", "retention_days": "1"}).status_code == 403


def test_retention_and_purge_run_daily(db):
    schedules = dict(Schedule.objects.values_list("name", "func"))
    assert schedules["apply-retention"] == "generator.tasks.apply_retention"
    assert schedules["purge-trash"] == "generator.tasks.purge_trash"
    daily = Schedule.objects.filter(name__in=("apply-retention", "purge-trash"))
    assert set(daily.values_list("schedule_type", flat=True)) == {Schedule.DAILY}
