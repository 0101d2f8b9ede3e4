"""A person's recent prompts: recorded when they generate, one entry per prompt and settings,
kept when images go, searchable, their own only, and one click puts everything back in the
form."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generator.models import Generation, Job, PromptHistory
from generator.starters import start_generation
from tests.factories import make_generation, make_membership, make_user
from tests.test_studio import form_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def generate(client, team, **overrides):
    response = client.post(reverse("studio_generate", args=[team.code]), form_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:500]


def history(client, team, q=None):
    url = reverse("prompt_history", args=[team.code])
    return client.get(url, {"q": q} if q is not None else {}, **HX)


def shown_prompts(response):
    return re.findall(r'class="history-entry"[^>]*>([^<]*)</a>', response.content.decode())


def test_generating_records_the_prompt_with_every_setting(member_client, member, sandbox_team):
    generate(
        member_client,
        sandbox_team,
        prompt="a fox in snow",
        negative_prompt="text, blur",
        scale="16:9",
        resolution="1080p",
        batch="2",
        model_name="wavespeed-ai/flux-krea-dev-lora",
    )
    entry = PromptHistory.objects.get()
    assert (entry.user, entry.team) == (member, sandbox_team)
    assert entry.parameters == {
        "prompt": "a fox in snow",
        "negative_prompt": "text, blur",
        "mode": "t2i",
        "model_name": "wavespeed-ai/flux-krea-dev-lora",
        "scale": "16:9",
        "resolution": "1080p",
        "batch": 2,
        "similar": None,
    }
    assert entry.uses == 1


def test_the_same_prompt_and_settings_again_count_as_one_entry_moved_to_the_top(
    member_client, sandbox_team
):
    generate(member_client, sandbox_team, prompt="a fox in snow")
    generate(member_client, sandbox_team, prompt="a harbour at night")
    generate(member_client, sandbox_team, prompt="a fox in snow")
    generate(member_client, sandbox_team, prompt="a fox in snow", scale="9:16")
    assert PromptHistory.objects.count() == 3
    fox = PromptHistory.objects.get(prompt="a fox in snow", scale="1:1")
    assert fox.uses == 2
    assert shown_prompts(history(member_client, sandbox_team)) == [
        "a fox in snow",
        "a fox in snow",
        "a harbour at night",
    ]
    newest = PromptHistory.objects.of(fox.user, sandbox_team).first()
    assert newest.scale == "9:16"


def test_the_history_survives_deleting_the_images(member_client, sandbox_team):
    generate(member_client, sandbox_team, prompt="a fox in snow")
    Job.objects.all().delete()
    Generation.objects.all().delete()
    assert shown_prompts(history(member_client, sandbox_team)) == ["a fox in snow"]


def test_search_narrows_by_every_word(member_client, sandbox_team):
    for prompt in ("a red fox in snow", "a red kite", "snow on a fox's tail", "a blue fox"):
        generate(member_client, sandbox_team, prompt=prompt)
    found = shown_prompts(history(member_client, sandbox_team, q="  FOX   snow "))
    assert sorted(found) == ["a red fox in snow", "snow on a fox&#x27;s tail"]
    response = history(member_client, sandbox_team, q="zebra")
    assert shown_prompts(response) == []
    assert "None of your recent prompts contain “zebra”." in response.content.decode()
    # A control character is a space between words, not a database error (PostgreSQL).
    found = shown_prompts(history(member_client, sandbox_team, q="fox\x00snow"))
    assert sorted(found) == ["a red fox in snow", "snow on a fox&#x27;s tail"]


def test_it_lists_the_twenty_most_recent(member, sandbox_team):
    from django.test import Client

    start = timezone.now() - timedelta(days=1)
    for i in range(25):
        PromptHistory.objects.create(
            user=member,
            team=sandbox_team,
            prompt=f"prompt {i}",
            params_hash=f"{i:064d}",
            last_used_at=start + timedelta(minutes=i),
        )
    client = Client()
    client.force_login(member)
    assert shown_prompts(history(client, sandbox_team)) == [f"prompt {i}" for i in range(24, 4, -1)]


def test_each_person_sees_only_their_own(member_client, owner_client, sandbox_team):
    generate(member_client, sandbox_team, prompt="the member's prompt")
    generate(owner_client, sandbox_team, prompt="the owner's prompt")
    assert shown_prompts(history(member_client, sandbox_team)) == ["the member&#x27;s prompt"]
    assert shown_prompts(history(owner_client, sandbox_team)) == ["the owner&#x27;s prompt"]


def test_a_history_is_per_team(member, member_client, sandbox_team, team_b):

    make_membership(team_b, member)
    generate(member_client, sandbox_team, prompt="only in team A")
    assert shown_prompts(history(member_client, team_b)) == []


def test_an_outsider_gets_404(outsider_client, member_client, sandbox_team):
    generate(member_client, sandbox_team)
    assert history(outsider_client, sandbox_team).status_code == 404
    entry = PromptHistory.objects.get()
    url = reverse("studio_form", args=[sandbox_team.code])
    assert outsider_client.get(url, {"history": entry.code}, **HX).status_code == 404


def test_a_viewer_has_no_form_and_so_no_history(viewer_client, sandbox_team):
    assert history(viewer_client, sandbox_team).status_code == 403
    html = viewer_client.get(reverse("studio", args=[sandbox_team.code])).content.decode()
    assert "Recent prompts" not in html


def test_the_form_holds_the_history_control(member_client, sandbox_team):
    html = member_client.get(reverse("studio", args=[sandbox_team.code])).content.decode()
    form = html.split('id="generate-form"')[1].split("</form>")[0]
    assert "Recent prompts" in form
    assert reverse("prompt_history", args=[sandbox_team.code]) in form


def test_reuse_fills_every_parameter(member_client, member, sandbox_team):
    generation = Generation(
        team=sandbox_team,
        author=member,
        prompt="a kite at dusk",
        negative_prompt="people",
        mode="t2i",
        scale="3:2",
        resolution="1080p",
        batch=3,
    )
    start_generation(generation, save=lambda: (generation.save(), generation)[1])
    entry = PromptHistory.objects.get()
    url = reverse("studio_form", args=[sandbox_team.code])
    response = member_client.get(url, {"history": entry.code}, **HX)
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and 'id="generate-form"' in html
    assert ">\na kite at dusk</textarea>" in html
    assert ">\npeople</textarea>" in html
    assert re.search(r'<option value="3:2"[^>]*selected', html)
    assert re.search(r'value="1080p"[^>]*checked', html)
    assert re.search(r'name="batch" value="3"', html)
    assert "The form holds that prompt and its settings" in html

    # Without htmx, the link is the studio page with the same form.
    page = member_client.get(url, {"history": entry.code})
    assert page.status_code == 302
    html = member_client.get(page.url).content.decode()
    assert ">\na kite at dusk</textarea>" in html


def test_reuse_of_someone_elses_entry_fills_nothing(member_client, owner_client, sandbox_team):
    generate(owner_client, sandbox_team, prompt="the owner's secret prompt")
    entry = PromptHistory.objects.get()
    url = reverse("studio_form", args=[sandbox_team.code])
    html = member_client.get(url, {"history": entry.code}, **HX).content.decode()
    assert "secret prompt" not in html


def test_rerun_from_an_image_fills_its_settings(member_client, owner, sandbox_team):
    generation = make_generation(sandbox_team, owner, "a teammate's kite", scale="9:16", batch=2)
    job = generation.create_jobs(1)[0]
    url = reverse("studio_form", args=[sandbox_team.code])
    html = member_client.get(url, {"from": job.code}, **HX).content.decode()
    assert ">\na teammate&#x27;s kite</textarea>" in html
    assert re.search(r'<option value="9:16"[^>]*selected', html)
    assert "The form holds the settings of that image" in html


def test_someone_new_starts_with_an_empty_history(sandbox_team):
    from django.test import Client

    newcomer = make_user("new@example.com", sandbox_team)
    client = Client()
    client.force_login(newcomer)
    response = history(client, sandbox_team)
    assert "No prompts yet" in response.content.decode()
