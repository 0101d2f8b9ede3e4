"""Share links to a board: the public page shows the board as it is at each visit, behind the
same password, expiry, revocation and toggles as a link to images."""

from datetime import timedelta

import pytest
from django.urls import reverse

from generator.models import AuditAction, AuditEntry, Board, BoardImage
from tests.factories import make_image
from tests.instants import SOME, at
from tests.test_share_links import PROMPT, create, made_link

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def board(team_a, owner):
    return Board.objects.create(
        team=team_a, name="Harbour picks", description="For the client", created_by=owner
    )


@pytest.fixture
def image(team_a, owner, board):
    job = make_image(team_a, owner, prompt=PROMPT, files=True)
    board.add_jobs([job], owner)
    return job


def share_board(client, team, board, **fields):
    return made_link(client, team, board=str(board.code), **fields)


def test_a_member_shares_a_board_and_it_is_audited(member_client, team_a, board, image):
    link, path = share_board(member_client, team_a, board)
    assert link.kind == "board" and link.board == board and not link.jobs.exists()
    entry = AuditEntry.objects.get(action=AuditAction.SHARE_CREATED)
    assert entry.target == str(link.code) and entry.details["board"] == "Harbour picks"
    listing = member_client.get(reverse("share_list", args=[team_a.code])).content.decode()
    assert "Harbour picks" in listing


def test_viewers_outsiders_and_other_teams_boards_cannot_be_shared(
    viewer_client, outsider_client, member_client, team_a, team_b, outsider, board
):
    assert create(viewer_client, team_a, board=str(board.code)).status_code == 403
    assert create(outsider_client, team_a, board=str(board.code)).status_code == 404
    theirs = Board.objects.create(team=team_b, name="Theirs", created_by=outsider)
    assert create(member_client, team_a, board=str(theirs.code)).status_code == 404
    assert create(member_client, team_a, board="not-a-code").status_code == 404


def test_the_public_page_follows_the_board_as_it_changes(
    member_client, client, team_a, owner, member, board, image
):
    off_board = make_image(team_a, member, prompt="never on the board", files=True)
    _, path = share_board(member_client, team_a, board, show_prompt="on")
    text = client.get(path).content.decode()
    assert "Harbour picks" in text and "For the client" in text
    assert PROMPT in text and "never on the board" not in text
    assert client.get(f"{path}1/preview/").status_code == 200
    assert client.get(f"{path}2/preview/").status_code == 404

    later = make_image(team_a, member, prompt="added later", files=True)
    board.add_jobs([later], member)
    text = client.get(path).content.decode()
    assert "added later" in text and client.get(f"{path}2/preview/").status_code == 200

    BoardImage.objects.filter(board=board, job=image).delete()
    text = client.get(path).content.decode()
    assert PROMPT not in text and "added later" in text
    assert client.get(f"{path}2/preview/").status_code == 404

    later.delete()
    text = client.get(path).content.decode()
    assert "added later" not in text and "no images yet" in text
    assert "og:image" not in text and "never on the board" not in text
    assert off_board.generation.prompt not in text


def test_toggles_hide_the_prompt_and_refuse_downloads(member_client, client, team_a, board, image):
    _, path = share_board(member_client, team_a, board, allow_download="")
    text = client.get(path).content.decode()
    assert PROMPT not in text and "Download original" not in text
    assert client.get(f"{path}1/original/").status_code == 404
    _, allowed = share_board(member_client, team_a, board)
    download = client.get(f"{allowed}1/original/")
    assert download.status_code == 200 and PROMPT.split()[1] not in download["Content-Disposition"]


def test_a_password_comes_first(member_client, client, team_a, board, image):
    _, path = share_board(member_client, team_a, board, password="open sesame")
    asked = client.get(path)
    assert b"Password needed" in asked.content and b"Harbour picks" not in asked.content
    assert client.get(f"{path}1/preview/").status_code == 404
    assert client.post(path, {"password": "open sesame"}).status_code == 302
    assert b"Harbour picks" in client.get(path).content


@at(*SOME)
def test_expiry_and_revocation_close_a_board_link(
    instant, time_machine, member_client, client, team_a, board, image
):
    link, path = share_board(member_client, team_a, board, expiry="1d")
    time_machine.move_to(instant.utc + timedelta(hours=24, seconds=-1), tick=False)
    assert client.get(path).status_code == 200
    time_machine.move_to(instant.utc + timedelta(hours=24), tick=False)
    assert client.get(path).status_code == 410
    second, other = share_board(member_client, team_a, board)
    second.revoke()
    response = client.get(other)
    assert response.status_code == 410 and b"This link was revoked" in response.content


def test_a_deleted_board_leaves_a_clear_page_and_shows_nothing_else(
    member_client, client, team_a, member, board, image
):
    make_image(team_a, member, prompt="an image on no board", files=True)
    link, path = share_board(member_client, team_a, board, show_prompt="on")
    board.delete()
    link.refresh_from_db()
    assert link.board is None and list(link.shared_jobs()) == []
    response = client.get(path)
    assert response.status_code == 410
    assert b"The shared board was deleted" in response.content
    assert b"an image on no board" not in response.content
    assert client.get(f"{path}1/preview/").status_code == 404


def test_the_board_page_offers_share_board_to_those_who_may_share(
    member_client, viewer_client, owner_client, team_a, board
):
    url = f"{reverse('studio', args=[team_a.code])}?board={board.code}"
    member_page = member_client.get(url).content.decode()
    assert "Share board" in member_page
    assert f'name="board" value="{board.code}"' in member_page
    assert 'id="board-share-expiry"' in member_page
    assert "Share board" not in viewer_client.get(url).content.decode()
    owner_client.post(reverse("share_settings", args=[team_a.code]), {"sharing_enabled": ""})
    assert "Share board" not in member_client.get(url).content.decode()


def test_sharing_a_board_through_htmx_answers_in_the_board_box(member_client, team_a, board):
    response = member_client.post(
        reverse("share_create", args=[team_a.code]),
        {"board": str(board.code), "expiry": "bogus"},
        headers={"HX-Request": "true"},
    )
    text = response.content.decode()
    assert response.status_code == 200 and "<html" not in text
    assert f'name="board" value="{board.code}"' in text and 'id="board-share-expiry"' in text
