"""The gallery's batches (one generation's images with its prompt once), the 2x thumbnail, the
team's default resolution and what a sandbox team shows instead of a key."""

import os
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from generator import tasks, trash
from generator.batches import group
from generator.lib.imaging import THUMB_DENSE_SIZE, THUMB_SIZE, derive
from generator.models import Job, State
from tests.factories import image_bytes, make_image
from tests.test_imaging import png, size_of
from tests.test_studio import HX, card_codes, image_url, studio_url


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def batch_of(team, author, count, prompt="four foxes", created_at=None, **fields):
    """`count` jobs of one generation, as Generation.create_jobs makes them."""
    first = make_image(team, author, prompt=prompt, created_at=created_at, **fields)
    jobs = [first]
    for index in range(1, count):
        job = Job.objects.get(pk=first.pk)
        job.pk, job.index = None, index
        job.code = Job._meta.get_field("code").default()
        job.save()
        jobs.append(job)
    return jobs


def gallery_order(team):
    return list(Job.objects.filter(team=team).order_by("-created_at", "-id"))


# --- grouping --------------------------------------------------------------------------------


def test_consecutive_jobs_of_one_generation_make_one_batch(sandbox_team, member):
    start = timezone.now() - timedelta(hours=1)
    older = batch_of(sandbox_team, member, 2, prompt="older", created_at=start)
    newer = batch_of(sandbox_team, member, 4, prompt="newer", created_at=start + timedelta(1))
    batches = group(gallery_order(sandbox_team))
    assert [len(b.jobs) for b in batches] == [4, 2]
    assert [b.generation.prompt for b in batches] == ["newer", "older"]
    assert batches[0].dom_id == f"batch-{newer[0].generation.code}"
    assert batches[1].dom_id == f"batch-{older[0].generation.code}"
    assert not any(b.continues or b.label for b in batches)


def test_children_of_one_image_are_their_own_labelled_batch(sandbox_team, member):
    start = timezone.now() - timedelta(hours=1)
    parents = batch_of(sandbox_team, member, 4, created_at=start)
    parent = parents[2]
    for minutes, button in ((1, "U2"), (2, "V3")):
        make_image(
            sandbox_team,
            member,
            parent=parent,
            button=button,
            state=State.PROCESSING,
            created_at=start + timedelta(minutes=minutes),
        )
    children, originals = group(gallery_order(sandbox_team))
    assert [j.button for j in children.jobs] == ["V3", "U2"]
    assert children.label == f"Upscale 2, Variation 3 of image {parent.index + 1}"
    assert children.dom_id == f"batch-{parent.generation.code}-{parent.code}"
    assert len(originals.jobs) == 4 and originals.label == ""


def test_the_same_key_twice_on_a_page_gets_distinct_ids(sandbox_team, member, owner):
    start = timezone.now() - timedelta(hours=1)
    parent = make_image(sandbox_team, member, created_at=start)
    first = make_image(
        sandbox_team, member, parent=parent, button="U1", created_at=start + timedelta(1)
    )
    make_image(sandbox_team, owner, prompt="between", created_at=start + timedelta(2))
    make_image(sandbox_team, member, parent=parent, button="U2", created_at=start + timedelta(3))
    ids = [b.dom_id for b in group(gallery_order(sandbox_team))]
    assert len(ids) == len(set(ids)) == 4
    # The newer run keeps the plain id; the older one adds its newest job's code.
    assert ids[0] == f"batch-{parent.generation.code}-{parent.code}"
    assert ids[2] == f"batch-{parent.generation.code}-{parent.code}-{first.code}"


def test_a_batch_cut_by_a_page_end_continues_on_the_next(sandbox_team, member):
    jobs = batch_of(sandbox_team, member, 4)
    ordered = gallery_order(sandbox_team)
    batches = group(ordered[2:], previous=ordered[1])
    assert batches[0].continues and batches[0].dom_id == f"batch-{jobs[0].generation.code}"
    assert not group(ordered[2:], previous=None)[0].continues


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_each_prompt_once_with_its_settings_as_chips(
    member_client, sandbox_team, member
):
    jobs = batch_of(sandbox_team, member, 4, prompt="four foxes in snow", resolution="1080p")
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    section = re.search(
        rf'<section class="batch" id="batch-{jobs[0].generation.code}".*?</section>', html, re.S
    ).group(0)
    assert sorted(card_codes(section)) == sorted(str(j.code) for j in jobs)
    # The prompt once as text (each picture keeps it as its alt text).
    assert re.sub(r'(alt|title)="[^"]*"', "", html).count("four foxes in snow") == 1
    chips = re.findall(r'<span class="chip">([^<]+)</span>', section)
    assert chips == ["1:1", "1080p", "Text to image"]
    # Each card keeps its shape for the layout.
    assert 'class="job-card is-done ratio-4-3" data-state="done"' in section


def test_a_load_more_page_adds_to_the_batch_it_continues(member_client, sandbox_team, member):
    from generator.views.gallery import PAGE_SIZE

    start = timezone.now() - timedelta(hours=1)
    for i in range(PAGE_SIZE - 2):
        make_image(sandbox_team, member, prompt=f"single {i}", created_at=start + timedelta(i + 10))
    cut = batch_of(sandbox_team, member, 4, prompt="cut in two", created_at=start)
    first = member_client.get(studio_url(sandbox_team)).content.decode()
    section_id = f"batch-{cut[0].generation.code}"
    assert first.count(f'id="{section_id}"') == 1
    more_url = re.search(r'id="load-more"[^>]*hx-get="([^"]+)"', first).group(1)
    more = member_client.get(more_url.replace("&amp;", "&"), **HX).content.decode()
    assert f'<div hx-swap-oob="beforeend:#{section_id} .batch-cards">' in more
    assert f'id="{section_id}"' not in more and len(card_codes(more)) == 2


def test_new_cards_arrive_grouped_at_the_top(member_client, sandbox_team):
    url = reverse("studio_generate", args=[sandbox_team.code])
    data = {"prompt": "three kites", "mode": "t2i", "scale": "16:9", "resolution": "1080p"}
    html = member_client.post(url, {**data, "batch": "3"}, **HX).content.decode()
    job = Job.objects.first()
    assert re.search(
        rf'hx-swap-oob="afterbegin:#gallery-grid">\s*<section class="batch" '
        rf'id="batch-{job.generation.code}"',
        html,
    )
    assert html.count('class="batch"') == 1 and len(card_codes(html)) == 3
    # A pending card has the shape asked for.
    assert html.count("ratio-16-9") == 3


# --- the 2x thumbnail ------------------------------------------------------------------------


def test_derive_makes_a_2x_thumbnail_only_when_the_image_is_larger_than_the_1x():
    derived = derive(png(3840, 2160))
    assert size_of(derived.thumbnail_2x) == (
        "WEBP",
        (THUMB_DENSE_SIZE, round(THUMB_DENSE_SIZE * 9 / 16)),
    )
    assert derive(png(THUMB_SIZE, 300)).thumbnail_2x is None


def test_the_store_step_keeps_the_2x_beside_the_others(sandbox_team, member, monkeypatch):
    job = make_image(sandbox_team, member, state=State.STORING)
    monkeypatch.setattr(tasks, "_learn_buttons", lambda job: ([], []))

    class Client:
        def download(self, url, out, **kwargs):
            data = png(1600, 900).getvalue()
            out.write(data)
            return len(data)

    monkeypatch.setattr(type(sandbox_team), "akool_client", lambda self, **kw: Client())
    Job.objects.filter(pk=job.pk).update(result_url="https://cdn.example/x.png")
    tasks.store_job(job.pk)
    job.refresh_from_db()
    assert job.state == State.DONE
    assert job.thumbnail_2x.name.endswith("-2x.webp")
    assert job.thumbnail_2x.name != job.thumbnail.name
    assert size_of(job.thumbnail_2x.read()) == (
        "WEBP",
        (THUMB_DENSE_SIZE, round(THUMB_DENSE_SIZE * 9 / 16)),
    )


def with_2x(job):
    job.thumbnail_2x.save(
        f"{job.code}-2x.webp", ContentFile(image_bytes("WEBP", (40, 30))), save=True
    )
    return job


def test_the_2x_is_served_to_members_and_used_in_srcset(
    member_client, outsider_client, sandbox_team, member
):
    job = with_2x(make_image(sandbox_team, member, files=True))
    old = make_image(sandbox_team, member, files=True)
    url = image_url("image_file", sandbox_team, job, "thumb2x")
    response = member_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert outsider_client.get(url).status_code == 404
    # A row from before the 2x existed has none: 404, and its card offers the 1x alone.
    assert (
        member_client.get(image_url("image_file", sandbox_team, old, "thumb2x")).status_code == 404
    )
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    detail = image_url("image_detail", sandbox_team, job)
    assert f'srcset="{detail}thumb/ 1x, {detail}thumb2x/ 1.5x"' in html
    assert html.count("srcset=") == 1


def test_purging_an_image_deletes_its_2x(
    member_client, sandbox_team, member, django_capture_on_commit_callbacks
):
    job = with_2x(make_image(sandbox_team, member, files=True))
    path = job.thumbnail_2x.path
    assert os.path.exists(path)
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(image_url("image_delete", sandbox_team, job), **HX)
    assert os.path.exists(path)  # restorable from the trash
    with django_capture_on_commit_callbacks(execute=True):
        trash.empty(member, sandbox_team)
    assert not os.path.exists(path)


def test_deleting_the_team_deletes_the_2x_files_too(sandbox_team, member):
    job = with_2x(make_image(sandbox_team, member, files=True))
    assert job.thumbnail_2x.name in sandbox_team.stored_file_names()


# --- the team's default resolution -----------------------------------------------------------


def test_the_form_starts_at_the_team_default_resolution(member_client, sandbox_team):
    assert sandbox_team.default_resolution == "4k"
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    assert re.search(r'value="4k"[^>]*checked', html)
    sandbox_team.default_resolution = "1080p"
    sandbox_team.save()
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    assert re.search(r'value="1080p"[^>]*checked', html)


def test_only_admins_set_the_default_resolution(team_admin_client, member_client, sandbox_team):
    url = reverse("team_details", args=[sandbox_team.code])
    data = {"name": sandbox_team.name, "time_zone": "UTC", "default_resolution": "1080p"}
    assert member_client.post(url, data).status_code == 403
    sandbox_team.refresh_from_db()
    assert sandbox_team.default_resolution == "4k"
    assert team_admin_client.post(url, data).status_code == 302
    sandbox_team.refresh_from_db()
    assert sandbox_team.default_resolution == "1080p"
    settings_html = team_admin_client.get(
        reverse("team_settings", args=[sandbox_team.code])
    ).content.decode()
    assert re.search(r'<option value="1080p" selected>', settings_html)


# --- a sandbox team has no key to show -------------------------------------------------------


def test_a_sandbox_team_shows_no_key(team_admin_client, sandbox_team):
    html = team_admin_client.get(reverse("team_settings", args=[sandbox_team.code])).content
    html = html.decode()
    assert "Sandbox — no key needed" in html
    assert sandbox_team.masked_key not in html and "Key saved" not in html
    studio = team_admin_client.get(studio_url(sandbox_team)).content.decode()
    assert sandbox_team.api_key_last4 not in re.sub(r"[0-9a-f-]{36}", "", studio)


def test_a_real_team_still_shows_its_masked_key(team_admin_client, team_a):
    team_a.set_credentials("sk-real-key-1234")
    team_a.backend = "akool"
    team_a.save()
    html = team_admin_client.get(reverse("team_settings", args=[team_a.code])).content.decode()
    assert "••••1234" in html and "no key needed" not in html
