"""Team boards (create, rename, describe, delete; the board page is the studio filtered by
board; generate into a board) and tags (on one image, as a filter, autocompleted)."""

import pytest
from django.urls import reverse

from generator.models import AuditAction, AuditEntry, Board, Generation, Tag
from tests.factories import make_image
from tests.test_studio import HX, form_data

pytestmark = pytest.mark.django_db


def studio(team, **query):
    url = reverse("studio", args=[team.code])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def card_codes(html):
    import re

    return set(re.findall(r'id="job-([0-9a-f-]{36})"', html))


# --- board CRUD and roles --------------------------------------------------------------------


def test_a_member_creates_a_board_and_lands_on_its_page(member_client, team_a, member):
    response = member_client.post(
        reverse("board_create", args=[team_a.code]),
        {"name": "  Spring   campaign ", "description": "Picks for April"},
    )
    board = Board.objects.get()
    assert (board.team, board.name, board.created_by) == (team_a, "Spring campaign", member)
    assert response.url == studio(team_a, board=board.code)
    page = member_client.get(response.url).content.decode()
    assert '<h3 id="board-title" class="board-title">Spring campaign</h3>' in page
    assert "Picks for April" in page
    assert "Edit board" in page


def test_board_names_are_unique_per_team_whatever_their_case(
    member_client, outsider_client, team_a, team_b
):
    Board.objects.create(team=team_a, name="Picks")
    response = member_client.post(reverse("board_create", args=[team_a.code]), {"name": "PICKS"})
    assert response.status_code == 200
    assert "already has a board called" in response.content.decode()
    assert Board.objects.count() == 1
    # Another team may use the name.
    outsider_client.post(reverse("board_create", args=[team_b.code]), {"name": "Picks"})
    assert Board.objects.filter(team=team_b, name="Picks").exists()


def test_a_member_renames_and_describes_a_board(member_client, team_a, owner):
    board = Board.objects.create(team=team_a, name="Old", created_by=owner)
    url = reverse("board_edit", args=[team_a.code, board.code])
    response = member_client.post(url, {"name": "New", "description": "Now described"})
    board.refresh_from_db()
    assert (board.name, board.description) == ("New", "Now described")
    assert response.url == studio(team_a, board=board.code)


def test_deleting_a_board_keeps_its_images_and_is_audited_when_others_are_touched(
    member_client, team_a, member, owner
):
    board = Board.objects.create(team=team_a, name="Shared", created_by=owner)
    job = make_image(team_a, owner)
    board.add_jobs([job], owner)
    response = member_client.post(reverse("board_delete", args=[team_a.code, board.code]))
    assert response.url == reverse("board_list", args=[team_a.code])
    assert not Board.objects.exists()
    job.refresh_from_db()  # still there
    entry = AuditEntry.objects.get(action=AuditAction.BOARD_DELETED)
    assert entry.actor == member and entry.target == "board Shared"
    assert entry.details == {"images": 1, "others_images": 1}


def test_deleting_ones_own_board_of_ones_own_images_is_not_audited(member_client, team_a, member):
    board = Board.objects.create(team=team_a, name="Mine", created_by=member)
    board.add_jobs([make_image(team_a, member)], member)
    member_client.post(reverse("board_delete", args=[team_a.code, board.code]))
    assert not AuditEntry.objects.filter(action=AuditAction.BOARD_DELETED).exists()


def test_a_viewer_reads_boards_but_cannot_change_them(viewer_client, team_a):
    board = Board.objects.create(team=team_a, name="Picks", description="Best ones")
    page = viewer_client.get(reverse("board_list", args=[team_a.code])).content.decode()
    assert "Picks" in page and "Best ones" in page
    assert "Create board" not in page
    board_page = viewer_client.get(studio(team_a, board=board.code)).content.decode()
    assert "Picks" in board_page and "Edit board" not in board_page
    assert (
        viewer_client.post(reverse("board_create", args=[team_a.code]), {"name": "X"}).status_code
        == 403
    )
    edit = reverse("board_edit", args=[team_a.code, board.code])
    assert viewer_client.post(edit, {"name": "X"}).status_code == 403
    delete = reverse("board_delete", args=[team_a.code, board.code])
    assert viewer_client.post(delete).status_code == 403
    assert Board.objects.get().name == "Picks"


def test_another_teams_board_is_404(member_client, team_a, team_b):
    theirs = Board.objects.create(team=team_b, name="Theirs")
    url = reverse("board_delete", args=[team_a.code, theirs.code])
    assert member_client.post(url).status_code == 404
    assert Board.objects.filter(pk=theirs.pk).exists()


# --- the board filter ------------------------------------------------------------------------


def test_the_board_filter_shows_the_boards_images_only(member_client, team_a, member, owner):
    board = Board.objects.create(team=team_a, name="Picks")
    on, off = make_image(team_a, member), make_image(team_a, owner)
    board.add_jobs([on], member)
    page = member_client.get(studio(team_a, board=board.code)).content.decode()
    assert card_codes(page) == {str(on.code)}
    assert f'<option value="{board.code}" selected>Picks</option>' in page
    # The same filter drives the htmx gallery and "load more".
    response = member_client.get(studio(team_a, board=board.code), HTTP_HX_TARGET="gallery", **HX)
    assert card_codes(response.content.decode()) == {str(on.code)}
    assert str(off.code) in member_client.get(studio(team_a)).content.decode()


def test_a_stale_or_foreign_board_code_matches_nothing(member_client, team_a, team_b, member):
    theirs = Board.objects.create(team=team_b, name="Theirs")
    make_image(team_a, member)
    page = member_client.get(studio(team_a, board=theirs.code)).content.decode()
    assert card_codes(page) == set()
    assert "board-title" not in page
    # Junk is ignored, as every filter ignores it.
    assert card_codes(member_client.get(studio(team_a, board="nope")).content.decode())


def test_the_poller_finds_new_images_of_the_board_only(member_client, team_a, member):
    from datetime import timedelta

    from django.utils import timezone

    from generator.cursors import make_live_token

    board = Board.objects.create(team=team_a, name="Picks")
    since = make_live_token(timezone.now() - timedelta(seconds=5))
    on, off = make_image(team_a, member), make_image(team_a, member)
    board.add_jobs([on], member)
    url = reverse("studio_poll", args=[team_a.code])
    html = member_client.get(url, {"since": since, "board": str(board.code)}, **HX).content.decode()
    assert str(on.code) in html and str(off.code) not in html


# --- generating into a board -----------------------------------------------------------------


def test_generating_into_a_board_puts_the_new_jobs_on_it(member_client, sandbox_team, member):
    board = Board.objects.create(team=sandbox_team, name="Picks")
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(batch="2", board=str(board.code)), **HX)
    assert response.status_code == 200
    jobs = list(Generation.objects.get().jobs.all())
    assert set(board.jobs.all()) == set(jobs)
    # The fresh form keeps the board for the next prompt.
    assert f'<option value="{board.code}" selected>Picks</option>' in response.content.decode()


def test_the_board_page_preselects_its_board_in_the_form(member_client, sandbox_team):
    board = Board.objects.create(team=sandbox_team, name="Picks")
    page = member_client.get(studio(sandbox_team, board=board.code)).content.decode()
    form = page[
        page.index('id="generate-form"') : page.index("</form>", page.index('id="generate-form"'))
    ]
    assert f'<option value="{board.code}" selected>Picks</option>' in form


def test_another_teams_board_cannot_be_generated_into(member_client, sandbox_team, team_b):
    theirs = Board.objects.create(team=team_b, name="Theirs")
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(board=str(theirs.code)), **HX)
    assert 'class="errorlist"' in response.content.decode()
    assert not Generation.objects.exists()


# --- tags ------------------------------------------------------------------------------------


def tags_url(team, job):
    return reverse("image_tags", args=[team.code, job.code])


def test_a_member_adds_and_removes_a_tag_in_the_image_view(member_client, team_a, member):
    job = make_image(team_a, member)
    response = member_client.post(tags_url(team_a, job), {"add": " Golden  hour "}, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="image-tags"')
    assert "Golden hour" in html
    assert list(job.tags.values_list("name", flat=True)) == ["Golden hour"]
    member_client.post(tags_url(team_a, job), {"remove": "golden HOUR"}, **HX)
    assert not job.tags.exists()
    assert Tag.objects.filter(team=team_a, name="Golden hour").exists()  # kept for autocomplete
    assert not AuditEntry.objects.filter(action=AuditAction.IMAGE_TAGS).exists()  # own image


def test_a_tag_with_control_characters_is_read_with_spaces_for_them(member_client, team_a, member):
    # PostgreSQL refuses NUL in text: taken as typed, these posts were server errors there.
    job = make_image(team_a, member)
    response = member_client.post(tags_url(team_a, job), {"add": "night\x00sky"}, **HX)
    assert response.status_code == 200
    assert list(job.tags.values_list("name", flat=True)) == ["night sky"]
    response = member_client.post(tags_url(team_a, job), {"remove": "\x00"}, **HX)
    assert response.status_code == 200 and job.tags.count() == 1
    member_client.post(tags_url(team_a, job), {"remove": "night\x00SKY"}, **HX)
    assert not job.tags.exists()


def test_tag_changes_on_others_images_are_audited(member_client, team_a, owner):
    job = make_image(team_a, owner)
    member_client.post(tags_url(team_a, job), {"add": "sky"})
    member_client.post(tags_url(team_a, job), {"remove": "sky"})
    entries = AuditEntry.objects.filter(action=AuditAction.IMAGE_TAGS).order_by("created_at", "id")
    assert [e.details for e in entries] == [{"added": "sky"}, {"removed": "sky"}]
    assert entries[0].target == f"image {job.code}"


def test_a_viewer_sees_tags_but_cannot_change_them(viewer_client, team_a, owner):
    job = make_image(team_a, owner)
    Tag.objects.named(team_a, "sky").add_jobs([job], owner)
    page = viewer_client.get(reverse("image_detail", args=[team_a.code, job.code])).content.decode()
    assert ">sky</a>" in page and "Add a tag" not in page
    assert viewer_client.post(tags_url(team_a, job), {"add": "x"}).status_code == 403


def test_the_tag_filter_and_the_autocomplete(member_client, team_a, member):
    sky, sea = make_image(team_a, member), make_image(team_a, member)
    Tag.objects.named(team_a, "Sky").add_jobs([sky], member)
    Tag.objects.named(team_a, "sea").add_jobs([sea], member)
    page = member_client.get(studio(team_a, tag="SKY")).content.decode()
    assert card_codes(page) == {str(sky.code)}
    assert '<datalist id="team-tags"><option value="Sky"><option value="sea"></datalist>' in page
    detail = member_client.get(
        reverse("image_detail", args=[team_a.code, sea.code])
    ).content.decode()
    assert '<option value="Sky"><option value="sea">' in detail


def test_the_image_view_offers_members_the_tag_form(member_client, team_a, member):
    job = make_image(team_a, member)
    page = member_client.get(reverse("image_detail", args=[team_a.code, job.code])).content.decode()
    assert f'action="{tags_url(team_a, job)}"' in page and "No tags yet." in page
