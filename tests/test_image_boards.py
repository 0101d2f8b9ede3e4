"""One image's boards, from its page: members put it on and take it off boards (viewers only
read), changes to others' images are audited, and the htmx answer is the boards box alone."""

import pytest
from django.urls import reverse

from generator.models import AuditAction, AuditEntry, Board, State
from tests.factories import make_image


@pytest.fixture
def boards(team_a, owner):
    return [
        Board.objects.create(team=team_a, name=name, created_by=owner)
        for name in ("Autumn", "Client", "Moodboard")
    ]


@pytest.fixture
def image(team_a, owner, boards):
    job = make_image(team_a, owner, prompt="a red kite")
    boards[0].add_jobs([job], owner)
    return job


def save(client, team, job, ticked, shown, htmx=False):
    url = reverse("image_boards", args=[team.code, job.code])
    data = {"boards": [str(b.code) for b in ticked], "shown": [str(b.code) for b in shown]}
    return client.post(url, data, headers={"HX-Request": "true"} if htmx else {})


def on(job):
    return sorted(job.boards.values_list("name", flat=True))


def test_a_member_puts_an_image_on_boards_and_takes_it_off(member_client, team_a, image, boards):
    response = save(member_client, team_a, image, [boards[1], boards[2]], boards, htmx=True)
    assert response.status_code == 200
    assert on(image) == ["Client", "Moodboard"]
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="image-boards"') and "<html" not in text
    assert "Put on “Client”, “Moodboard”. Taken off “Autumn”." in text
    assert text.count("checked") == 2


def test_a_board_the_form_did_not_list_is_left_as_it_is(
    member_client, team_a, owner, image, boards
):
    boards[2].add_jobs([image], owner)  # put on it since the form was drawn
    save(member_client, team_a, image, [boards[0]], boards[:2])
    assert on(image) == ["Autumn", "Moodboard"]


def test_without_javascript_it_redirects_back_with_a_message(member_client, team_a, image, boards):
    response = save(member_client, team_a, image, [], boards)
    assert response.status_code == 302
    assert response.url == reverse("image_detail", args=[team_a.code, image.code])
    assert on(image) == []


def test_changes_to_someone_elses_image_are_audited_and_to_ones_own_are_not(
    member_client, owner_client, team_a, image, boards
):
    save(owner_client, team_a, image, [boards[0], boards[1]], boards)
    assert not AuditEntry.objects.exists()
    save(member_client, team_a, image, [boards[1]], boards)
    entries = {e.action: e for e in AuditEntry.objects.all()}
    assert set(entries) == {AuditAction.BOARD_IMAGE_REMOVED}
    removed = entries[AuditAction.BOARD_IMAGE_REMOVED]
    assert removed.target == f"image {image.code}" and removed.details["board"] == "Autumn"
    save(member_client, team_a, image, [boards[1], boards[2]], boards)
    added = AuditEntry.objects.get(action=AuditAction.BOARD_IMAGES)
    assert added.details["board"] == "Moodboard"


def test_viewers_read_the_boards_but_cannot_change_them(viewer_client, team_a, image, boards):
    assert save(viewer_client, team_a, image, boards, boards).status_code == 403
    assert on(image) == ["Autumn"]
    page = viewer_client.get(reverse("image_detail", args=[team_a.code, image.code]))
    text = page.content.decode()
    assert f"?board={boards[0].code}" in text and 'name="boards"' not in text
    assert "Client" not in text.split('id="image-boards"')[1].split("</div>")[0]


def test_the_image_page_lists_every_board_with_this_images_ticked(
    member_client, team_a, image, boards
):
    text = member_client.get(reverse("image_detail", args=[team_a.code, image.code])).content
    text = text.decode()
    for board in boards:
        assert f'value="{board.code}"' in text
    assert (
        f'id="board-{boards[0].code}-{image.code}" name="boards" value="{boards[0].code}" checked'
        in text
    )
    assert (
        f'id="board-{boards[1].code}-{image.code}" name="boards" value="{boards[1].code}">' in text
    )


def test_outsiders_other_teams_boards_and_unfinished_images_are_refused(
    outsider_client, member_client, team_a, team_b, outsider, member, image, boards
):
    assert save(outsider_client, team_a, image, boards, boards).status_code == 404
    theirs = Board.objects.create(team=team_b, name="Theirs", created_by=outsider)
    save(member_client, team_a, image, [theirs], [theirs])
    assert on(image) == ["Autumn"]
    pending = make_image(team_a, member, state=State.PROCESSING)
    assert save(member_client, team_a, pending, boards, boards).status_code == 404
