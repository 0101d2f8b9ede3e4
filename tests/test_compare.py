"""Compare: the bulk bar's selection of 2 to 4 images becomes a side-by-side page, for members
of the team only."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from generator.models import State
from tests.factories import make_image


@pytest.fixture
def images(team_a, owner, member):
    return [make_image(team_a, owner if i % 2 else member, prompt=f"kite {i}") for i in range(5)]


def post_selection(client, team, jobs, follow=False, **extra):
    data = {"codes": [str(job.code) for job in jobs], **extra}
    url = reverse("studio_compare_selection", args=[team.code])
    return client.post(url, data, follow=follow)


def compare_url(team, jobs, **extra):
    query = "&".join(f"codes={job.code}" for job in jobs)
    return f"{reverse('studio_compare', args=[team.code])}?{query}"


def test_a_selection_of_two_becomes_the_compare_address_in_the_gallerys_order(
    viewer_client, team_a, images
):
    chosen = [images[3], images[0]]
    response = post_selection(viewer_client, team_a, chosen, filters="who=mine&q=kite")
    assert response.status_code == 302
    parts = urlsplit(response.url)
    assert parts.path == reverse("studio_compare", args=[team_a.code])
    query = parse_qs(parts.query)
    assert query["codes"] == [str(job.code) for job in chosen]
    assert parse_qs(query["filters"][0]) == {"q": ["kite"], "who": ["mine"]}


@pytest.mark.parametrize("count", [1, 5])
def test_fewer_than_two_or_more_than_four_is_refused_with_a_clear_message(
    member_client, team_a, images, count
):
    response = post_selection(member_client, team_a, images[:count], follow=True)
    assert response.redirect_chain[-1][0] == reverse("studio", args=[team_a.code])
    assert "Select 2 to 4 finished images to compare." in response.content.decode()


def test_select_all_matching_compares_when_the_filter_matches_two_to_four(
    member_client, team_a, images
):
    response = post_selection(member_client, team_a, [], all="1", filters="q=kite+3")
    assert response.status_code == 302
    # "kite 3" matches one image only.
    assert reverse("studio", args=[team_a.code]) in response.url
    response = post_selection(member_client, team_a, [], all="1", filters="who=mine")
    mine_newest_first = [images[4], images[2], images[0]]
    codes = parse_qs(urlsplit(response.url).query)["codes"]
    assert codes == [str(job.code) for job in mine_newest_first]


def test_the_page_shows_each_image_with_its_prompt_and_settings(viewer_client, team_a, images):
    chosen = images[:3]
    response = viewer_client.get(compare_url(team_a, chosen))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Compare 3 images" in text
    for letter, job in zip("ABC", chosen, strict=True):
        assert f'id="compare-{letter}"' in text
        assert reverse("image_file", args=[team_a.code, job.code, "preview"]) in text
        assert job.generation.get_resolution_display() in text
    assert text.index("kite 0") < text.index("kite 1") < text.index("kite 2")
    assert "data-ab-range" not in text  # the slider is for exactly two


def test_two_images_get_the_ab_slider_with_a_labelled_range(member_client, team_a, images):
    text = member_client.get(compare_url(team_a, images[:2])).content.decode()
    assert 'type="range"' in text and '<label class="ab-label" for="ab-range">' in text
    assert "<script>" not in text and "style=" not in text


def test_uv_siblings_compare_like_any_other_images(member_client, team_a, member, images):
    parent = images[0]
    children = [make_image(team_a, member, parent=parent, button=name) for name in ("U1", "V2")]
    text = member_client.get(compare_url(team_a, children)).content.decode()
    assert "Upscale 1" in text and "Variation 2" in text


def test_the_way_back_keeps_the_gallerys_filter(member_client, team_a, images):
    url = compare_url(team_a, images[:2]) + "&filters=q%3Dkite%26bogus%3D%3Cx%3E"
    text = member_client.get(url).content.decode()
    assert f'href="/t/{team_a.code}/?q=kite" data-compare-back' in text


def test_an_outsider_gets_404(outsider_client, team_a, images):
    assert outsider_client.get(compare_url(team_a, images[:2])).status_code == 404
    assert post_selection(outsider_client, team_a, images[:2]).status_code == 404


def test_another_teams_image_is_not_shown(outsider, outsider_client, team_b, images):
    theirs = make_image(team_b, outsider, prompt="their own")
    response = outsider_client.get(compare_url(team_b, [theirs, images[0]]))
    assert response.status_code == 400
    assert "kite 0" not in response.content.decode()


@pytest.mark.parametrize("codes", ["", "codes=not-a-uuid", "codes={0}&codes={0}"])
def test_bad_addresses_get_a_clear_message(member_client, team_a, images, codes):
    url = reverse("studio_compare", args=[team_a.code]) + "?" + codes.format(images[0].code)
    response = member_client.get(url)
    assert response.status_code == 400
    assert "Select 2 to 4 finished images to compare." in response.content.decode()


def test_an_unfinished_or_deleted_image_is_named_as_such(member_client, team_a, member, images):
    pending = make_image(team_a, member, state=State.PROCESSING)
    response = member_client.get(compare_url(team_a, [images[0], pending]))
    assert response.status_code == 400
    assert "deleted or are not finished" in response.content.decode()
