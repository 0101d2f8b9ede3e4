"""Bulk actions on the studio's selection: the ticked cards, or every image a filter matches."""

import html
import os
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from generator.models import AuditAction, AuditEntry, Board, CardRemoval, Favourite, Job, State
from tests.factories import make_image

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def bulk(client, team, action, jobs=(), htmx=True, **data):
    payload = {"action": action, "codes": [str(job.code) for job in jobs], **data}
    return client.post(reverse("studio_bulk", args=[team.code]), payload, **(HX if htmx else {}))


def images(team, author, count, prompt="a red kite", **kwargs):
    start = timezone.now() - timedelta(hours=1)
    return [
        make_image(team, author, prompt, created_at=start + timedelta(seconds=i), **kwargs)
        for i in range(count)
    ]


# --- favourites ------------------------------------------------------------------------------


def test_a_viewer_stars_and_unstars_a_selection_for_themselves(
    viewer_client, team_a, viewer, owner
):
    jobs = images(team_a, owner, 3)
    response = bulk(viewer_client, team_a, "star", jobs)
    assert response.status_code == 200
    assert "Added 3 images to your favourites." in response.content.decode()
    # Each ticked card's star is swapped out of band, pressed.
    for job in jobs:
        assert f'id="star-card-{job.code}"' in response.content.decode()
    assert response.content.decode().count('aria-pressed="true"') == 3
    assert "bulk:done" in response.headers["HX-Trigger"]
    assert Favourite.objects.filter(user=viewer).count() == 3
    assert Favourite.objects.count() == 3  # only the viewer's

    bulk(viewer_client, team_a, "unstar", jobs[:2])
    assert list(Favourite.objects.values_list("job", flat=True)) == [jobs[2].pk]


def test_starring_twice_keeps_one_star(member_client, team_a, member):
    job = make_image(team_a, member)
    bulk(member_client, team_a, "star", [job])
    bulk(member_client, team_a, "star", [job])
    assert Favourite.objects.filter(user=member, job=job).count() == 1


def test_without_javascript_the_answer_is_a_redirect_keeping_the_filters(
    member_client, team_a, member
):
    job = make_image(team_a, member)
    response = bulk(member_client, team_a, "star", [job], htmx=False, filters="fav=1")
    assert response.status_code == 302
    assert response.url == reverse("studio", args=[team_a.code]) + "?fav=1"


# --- role checks ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["tag", "board", "delete"])
def test_a_viewer_cannot_change_images(viewer_client, team_a, viewer, owner, action):
    job = make_image(team_a, owner)
    board = Board.objects.create(team=team_a, name="Picks")
    response = bulk(viewer_client, team_a, action, [job], tag="sky", board=str(board.code))
    assert response.status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()
    assert not job.tags.exists() and not job.boards.exists()


def test_an_outsider_gets_404_and_other_teams_images_are_never_touched(
    outsider_client, member_client, team_a, team_b, member, outsider
):
    theirs = make_image(team_b, outsider)
    assert bulk(outsider_client, team_a, "delete", [theirs]).status_code == 404
    # A code of another team's image posted to one's own team matches nothing.
    response = bulk(member_client, team_a, "delete", [theirs])
    assert "Nothing selected" in response.content.decode()
    assert Job.objects.filter(pk=theirs.pk).exists()


def test_an_unknown_action_is_refused(member_client, team_a, member):
    job = make_image(team_a, member)
    assert bulk(member_client, team_a, "explode", [job]).status_code == 400


# --- delete ---------------------------------------------------------------------------------


def test_a_member_trashes_only_their_own_and_hears_how_many_were_skipped(
    member_client, team_a, member, owner, django_capture_on_commit_callbacks
):
    own = images(team_a, member, 2, files=True)
    theirs = make_image(team_a, owner, files=True)
    paths = [job.original.path for job in own]
    with django_capture_on_commit_callbacks(execute=True):
        response = bulk(member_client, team_a, "delete", [*own, theirs])
    text = html.unescape(response.content.decode())
    assert "Moved 2 images to the trash. Skipped 1 image: only an image's author or a team" in text
    assert set(Job.objects.kept().values_list("pk", flat=True)) == {theirs.pk}
    assert set(Job.objects.in_trash().values_list("pk", flat=True)) == {j.pk for j in own}
    # Restorable until the trash is purged, so the files stay (tests/test_trash.py).
    assert all(os.path.exists(p) for p in paths)
    assert os.path.exists(theirs.original.path)
    # The deleted cards leave this page out of band, and teammates' pages by tombstone.
    for job in own:
        assert f'<div id="job-{job.code}" hx-swap-oob="delete">' in text
    assert f"job-{theirs.code}" not in text
    assert set(CardRemoval.objects.values_list("code", flat=True)) == {j.code for j in own}
    entries = AuditEntry.objects.filter(action=AuditAction.IMAGE_DELETED)
    assert sorted(e.target for e in entries) == sorted(f"image {j.code}" for j in own)


def test_an_admin_deletes_anyones_images(team_admin_client, team_a, member, owner):
    jobs = [make_image(team_a, member), make_image(team_a, owner)]
    response = bulk(team_admin_client, team_a, "delete", jobs)
    assert "Moved 2 images to the trash." in response.content.decode()
    assert not Job.objects.kept().exists()


def test_pending_images_are_never_deleted(owner_client, team_a, owner):
    pending = make_image(team_a, owner, state=State.STORING)
    done = make_image(team_a, owner)
    bulk(owner_client, team_a, "delete", [pending, done])
    assert list(Job.objects.kept().values_list("pk", flat=True)) == [pending.pk]


def test_a_bulk_change_is_one_transaction(owner_client, team_a, owner, monkeypatch):
    jobs = images(team_a, owner, 3)
    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return AuditEntry(action=args[2])

    monkeypatch.setattr("generator.audit.record", fail_on_second)
    owner_client.raise_request_exception = False
    response = bulk(owner_client, team_a, "delete", jobs)
    assert response.status_code == 500
    # The first image's delete and tombstone were rolled back with the rest.
    assert Job.objects.count() == 3
    assert not CardRemoval.objects.exists()


# --- select all matching --------------------------------------------------------------------


def test_select_all_counts_every_match_on_the_server(member_client, team_a, member, owner):
    images(team_a, member, 30, prompt="harbour at dawn")
    images(team_a, owner, 5, prompt="desert road")
    make_image(team_a, member, "harbour in progress", state=State.PROCESSING)
    url = reverse("studio_bulk_count", args=[team_a.code])
    response = member_client.get(url, {"filters": "q=harbour"}, **HX)
    text = response.content.decode()
    assert 'data-match-count="30"' in text
    assert "All 30 images that match this filter are selected." in text
    assert '<input type="hidden" name="all" value="1">' in text
    one = member_client.get(url, {"filters": "q=desert&who=mine"}).content.decode()
    assert "All 0 images that match" in one


def test_all_matching_applies_to_images_not_loaded_on_the_page(
    member_client, team_a, member, owner
):
    harbour = images(team_a, member, 30, prompt="harbour at dawn")  # more than one page
    other = images(team_a, member, 3, prompt="desert road")
    response = bulk(
        member_client, team_a, "tag", harbour[-2:], all="1", filters="q=harbour", tag="Coast"
    )
    assert "Tagged 30 images “Coast”." in response.content.decode()
    assert {job.pk for job in Job.objects.filter(tags__name="Coast")} == {j.pk for j in harbour}
    assert not Job.objects.filter(pk__in=[j.pk for j in other], tags__isnull=False).exists()


def test_all_matching_delete_keeps_the_role_rule(member_client, team_a, member, owner):
    images(team_a, member, 4, prompt="harbour")
    theirs = images(team_a, owner, 2, prompt="harbour")
    response = bulk(member_client, team_a, "delete", all="1", filters="q=harbour")
    assert "Moved 4 images to the trash. Skipped 2 images" in response.content.decode()
    assert set(Job.objects.kept().values_list("pk", flat=True)) == {j.pk for j in theirs}


# --- tags and boards ------------------------------------------------------------------------


def test_bulk_tag_reuses_the_teams_tag_whatever_its_case(member_client, team_a, member):
    jobs = images(team_a, member, 2)
    bulk(member_client, team_a, "tag", jobs[:1], tag="  Night   sky ")
    response = bulk(member_client, team_a, "tag", jobs, tag="night SKY")
    assert "Tagged 1 image “Night sky”. 1 image had it already." in response.content.decode()
    assert team_a.tags.count() == 1
    assert team_a.tags.get().jobs.count() == 2


def test_bulk_tag_needs_a_tag(member_client, team_a, member):
    job = make_image(team_a, member)
    response = bulk(member_client, team_a, "tag", [job], tag="   ")
    assert "Type a tag to add." in response.content.decode()
    assert "HX-Trigger" not in response.headers


def test_bulk_board_adds_images_once(member_client, team_a, member):
    board = Board.objects.create(team=team_a, name="Picks")
    jobs = images(team_a, member, 3)
    bulk(member_client, team_a, "board", jobs[:1], board=str(board.code))
    response = bulk(member_client, team_a, "board", jobs, board=str(board.code))
    assert "Put 2 images on “Picks”. 1 image was on it already." in response.content.decode()
    assert board.jobs.count() == 3
    assert board.entries.first().added_by == member


def test_a_board_of_another_team_cannot_be_filled(member_client, team_a, team_b, member):
    theirs = Board.objects.create(team=team_b, name="Theirs")
    job = make_image(team_a, member)
    response = bulk(member_client, team_a, "board", [job], board=str(theirs.code))
    assert "Choose a board." in response.content.decode()
    assert not theirs.jobs.exists()


def test_tagging_or_boarding_others_images_is_audited_once_per_action(
    member_client, team_a, member, owner
):
    board = Board.objects.create(team=team_a, name="Picks")
    own, theirs = make_image(team_a, member), images(team_a, owner, 2)
    bulk(member_client, team_a, "tag", [own, *theirs], tag="sky")
    bulk(member_client, team_a, "board", [own, *theirs], board=str(board.code))
    tags = AuditEntry.objects.get(action=AuditAction.IMAGE_TAGS)
    assert tags.target == "2 images"
    assert sorted(tags.details["images"]) == sorted(str(j.code) for j in theirs)
    assert tags.details["added"] == "sky"
    boards = AuditEntry.objects.get(action=AuditAction.BOARD_IMAGES)
    assert boards.details["board"] == "Picks" and len(boards.details["images"]) == 2
    # Only one's own images: nothing to log.
    bulk(member_client, team_a, "tag", [own], tag="mine")
    assert AuditEntry.objects.filter(action=AuditAction.IMAGE_TAGS).count() == 1


# --- the studio page ------------------------------------------------------------------------


def test_the_studio_offers_each_role_only_the_actions_it_may_use(
    member_client, viewer_client, team_a, member
):
    make_image(team_a, member)
    Board.objects.create(team=team_a, name="Picks")
    url = reverse("studio", args=[team_a.code])
    page = member_client.get(url).content.decode()
    assert 'id="bulk-form"' in page and 'form="bulk-form"' in page
    for action in ("star", "unstar", "tag", "board", "delete"):
        assert f'name="action" value="{action}"' in page
    viewing = viewer_client.get(url).content.decode()
    assert 'value="star"' in viewing and 'value="delete"' not in viewing
    assert 'value="tag"' not in viewing
