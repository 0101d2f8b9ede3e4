"""Team prompt presets: everyone in the team sees them, members add their own and change
them, admins change any; picking one fills the generation form, a small form fills its
{variables} in, and a generation made from it carries the filled-in prompt and counts a use."""

import re

import pytest
from django.urls import reverse

from generator.models import AuditAction, AuditEntry, Generation, Job, PromptPreset
from generator.pricing import MAX_BATCH
from tests.factories import make_membership, make_user
from tests.test_studio import form_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PROMPT = "A {animal} in {place}, watercolour"


def make_preset(team, author, name="Watercolour animal", prompt=PROMPT, **fields):
    fields = {"resolution": "1080p", "scale": "16:9", "batch": 2, **fields}
    return PromptPreset.objects.create(
        team=team, created_by=author, name=name, prompt=prompt, **fields
    )


def preset_data(**overrides):
    return {
        "name": "Harbour",
        "prompt": "a {boat} in a harbour",
        "negative_prompt": "",
        "mode": "t2i",
        "scale": "3:2",
        "resolution": "1080p",
        "batch": "1",
        **overrides,
    }


def textarea(page, name):
    match = re.search(rf'<textarea name="{name}"[^>]*>\n?([^<]*)</textarea>', page)
    return match.group(1) if match else None


# --- the variables ---------------------------------------------------------------------------


def test_variables_are_listed_once_in_order_and_filled_in_one_pass(team_a, member):
    preset = make_preset(team_a, member, prompt="{a} and {b} and {a}", negative_prompt="{c} {x y}")
    assert preset.variables == ["a", "b", "c"]
    filled = preset.filled({"a": " red  kite ", "b": "{c}", "c": "blur"})
    assert filled["prompt"] == "red kite and {c} and red kite"
    assert filled["negative_prompt"] == "blur {x y}"
    assert (filled["scale"], filled["batch"]) == ("16:9", 2)


def test_a_missing_variable_is_named_in_the_message(team_a, member):
    preset = make_preset(team_a, member)
    with pytest.raises(ValueError) as missing:
        preset.filled({"animal": "fox", "place": "  "})
    assert str(missing.value) == (
        "Fill in {place}: type a value for each (or write your own text in the prompt)."
    )
    with pytest.raises(ValueError, match=r"Fill in \{animal\} and \{place\}:"):
        preset.filled({})


# --- role rules ------------------------------------------------------------------------------


def test_a_member_adds_a_preset_and_everyone_in_the_team_sees_it(
    sandbox_team, member, member_client, viewer_client
):
    url = reverse("preset_create", args=[sandbox_team.code])
    assert member_client.post(url, preset_data()).status_code == 302
    preset = PromptPreset.objects.get()
    assert (preset.team, preset.created_by, preset.prompt, preset.scale) == (
        sandbox_team,
        member,
        "a {boat} in a harbour",
        "3:2",
    )
    page = viewer_client.get(reverse("preset_list", args=[sandbox_team.code])).content.decode()
    assert "a {boat} in a harbour" in page
    # Read only: no form, no edit or delete, no "use" (a viewer cannot generate).
    assert "New preset" not in page and "Edit" not in page and "Delete" not in page
    assert "?preset=" not in page


def test_a_viewer_cannot_add_change_or_delete(sandbox_team, member, viewer_client):
    preset = make_preset(sandbox_team, member)
    args = [sandbox_team.code, preset.code]
    create = reverse("preset_create", args=[sandbox_team.code])
    assert viewer_client.post(create, preset_data()).status_code == 403
    assert viewer_client.post(reverse("preset_edit", args=args), preset_data()).status_code == 403
    assert viewer_client.post(reverse("preset_delete", args=args)).status_code == 403
    assert PromptPreset.objects.get().name == "Watercolour animal"


def test_a_member_changes_their_own_but_not_someone_elses(sandbox_team, member, member_client):
    other = make_user("other@a.example", sandbox_team)
    mine, theirs = make_preset(sandbox_team, member, "Mine"), make_preset(sandbox_team, other)
    edit = reverse("preset_edit", args=[sandbox_team.code, mine.code])
    assert member_client.post(edit, preset_data(name="Mine, renamed")).status_code == 302
    mine.refresh_from_db()
    assert (mine.name, mine.prompt) == ("Mine, renamed", "a {boat} in a harbour")
    for name in ("preset_edit", "preset_delete"):
        url = reverse(name, args=[sandbox_team.code, theirs.code])
        assert member_client.post(url, preset_data(name="Taken over")).status_code == 403
    assert (
        member_client.get(reverse("preset_edit", args=[sandbox_team.code, theirs.code])).status_code
        == 403
    )
    theirs.refresh_from_db()
    assert theirs.name == "Watercolour animal"
    # The list offers edit and delete only where they are allowed.
    page = member_client.get(reverse("preset_list", args=[sandbox_team.code])).content.decode()
    assert str(mine.code) + "/" in page and str(theirs.code) + "/" not in page
    assert not AuditEntry.objects.exists()


def test_an_admin_changes_and_deletes_anyones_preset_and_it_is_audited(
    sandbox_team, member, team_admin, team_admin_client
):
    preset = make_preset(sandbox_team, member)
    args = [sandbox_team.code, preset.code]
    edit = reverse("preset_edit", args=args)
    assert team_admin_client.post(edit, preset_data(name="Renamed")).status_code == 302
    assert team_admin_client.post(reverse("preset_delete", args=args)).status_code == 302
    assert not PromptPreset.objects.exists()
    actions = AuditEntry.objects.order_by("id").values_list("action", "actor", "target")
    assert list(actions) == [
        (AuditAction.PRESET_EDITED, team_admin.pk, "preset Watercolour animal"),
        (AuditAction.PRESET_DELETED, team_admin.pk, "preset Renamed"),
    ]


def test_an_outsider_gets_404_everywhere(sandbox_team, member, outsider_client):
    preset = make_preset(sandbox_team, member)
    args = [sandbox_team.code, preset.code]
    assert outsider_client.get(reverse("preset_list", args=[sandbox_team.code])).status_code == 404
    assert outsider_client.get(reverse("preset_edit", args=args)).status_code == 404
    assert outsider_client.post(reverse("preset_delete", args=args)).status_code == 404


def test_a_preset_of_another_team_cannot_be_reached_from_this_one(
    sandbox_team, team_b, outsider, member, member_client
):
    theirs = make_preset(team_b, outsider)
    args = [sandbox_team.code, theirs.code]
    assert member_client.get(reverse("preset_edit", args=args)).status_code == 404
    form = member_client.get(
        reverse("studio_form", args=[sandbox_team.code]), {"preset": theirs.code}, **HX
    ).content.decode()
    assert "{animal}" not in form


def test_names_are_unique_in_a_team_whatever_the_case(sandbox_team, member, member_client):
    make_preset(sandbox_team, member, "Harbour")
    url = reverse("preset_create", args=[sandbox_team.code])
    response = member_client.post(url, preset_data(name="  HARBOUR "))
    assert response.status_code == 200
    assert "This team already has a preset called “HARBOUR”." in response.content.decode()
    assert PromptPreset.objects.count() == 1


def test_settings_are_checked_like_the_generation_form(sandbox_team, member_client):
    url = reverse("preset_create", args=[sandbox_team.code])
    response = member_client.post(
        url, preset_data(batch=str(MAX_BATCH + 1), resolution="8k", scale="Original")
    )
    page = response.content.decode()
    assert f"less than or equal to {MAX_BATCH}" in page
    assert "Select a valid choice. 8k is not one of the available choices." in page
    assert "“Original” keeps a source image" in page
    assert not PromptPreset.objects.exists()


# --- picking one in the studio ---------------------------------------------------------------


def pick(client, team, preset):
    url = reverse("studio_form", args=[team.code])
    return client.get(url, {"preset": preset.code}, **HX).content.decode()


def fill(client, team, preset, prompt=PROMPT, **values):
    data = form_data(prompt=prompt, scale="16:9", batch="2", preset=str(preset.code))
    data.update({f"var_{name}": value for name, value in values.items()})
    url = reverse("studio_fill", args=[team.code])
    return client.post(url, data, **HX).content.decode()


def test_picking_a_preset_fills_the_form_and_asks_for_its_variables(
    sandbox_team, member, member_client
):
    preset = make_preset(sandbox_team, member, negative_prompt="no {place} signs")
    form = pick(member_client, sandbox_team, preset)
    assert textarea(form, "prompt") == PROMPT
    assert textarea(form, "negative_prompt") == "no {place} signs"
    assert 'value="16:9" selected' in form and 'name="batch" value="2"' in form
    assert f'name="preset" value="{preset.code}"' in form
    assert "Fill in {animal} and {place}: type a value for each" in form
    assert 'name="var_animal"' in form and 'name="var_place"' in form


def test_the_variables_form_fills_the_prompt_and_asks_again_for_what_is_missing(
    sandbox_team, member, member_client
):
    preset = make_preset(sandbox_team, member)
    form = fill(member_client, sandbox_team, preset, animal="red fox", place="")
    assert textarea(form, "prompt") == "A red fox in {place}, watercolour"
    assert "Fill in {place}: type a value for each" in form
    assert 'name="var_animal"' not in form and 'name="var_place"' in form
    form = fill(member_client, sandbox_team, preset, textarea(form, "prompt"), place="snow")
    assert textarea(form, "prompt") == "A red fox in snow, watercolour"
    assert "The preset “Watercolour animal” is filled in" in form
    assert "Fill in" not in form
    # The settings as they stood in the form are kept.
    assert 'value="16:9" selected' in form and 'name="batch" value="2"' in form


def test_a_generation_from_a_preset_carries_the_filled_prompt_and_counts_a_use(
    sandbox_team, member, member_client
):
    preset = make_preset(sandbox_team, member)
    url = reverse("studio_generate", args=[sandbox_team.code])
    data = form_data(prompt="A red fox in snow, watercolour", preset=str(preset.code))
    assert member_client.post(url, data).status_code == 302
    generation = Generation.objects.get()
    assert (generation.prompt, generation.preset) == ("A red fox in snow, watercolour", preset)
    preset.refresh_from_db()
    assert preset.uses == 1
    # The form after an htmx submit keeps the preset, so the next one counts too.
    response = member_client.post(url, data, **HX).content.decode()
    assert f'name="preset" value="{preset.code}"' in response
    preset.refresh_from_db()
    assert preset.uses == 2


def test_generating_with_variables_left_in_braces_is_refused_with_their_names(
    sandbox_team, member, member_client
):
    preset = make_preset(sandbox_team, member)
    url = reverse("studio_generate", args=[sandbox_team.code])
    data = form_data(prompt="A red fox in {place}, watercolour", preset=str(preset.code))
    page = member_client.post(url, data, **HX).content.decode()
    assert "Fill in {place}: type a value for each" in page
    assert not Job.objects.exists()
    preset.refresh_from_db()
    assert preset.uses == 0


def test_braces_without_a_preset_are_just_text(sandbox_team, member_client):
    url = reverse("studio_generate", args=[sandbox_team.code])
    assert member_client.post(url, form_data(prompt="a sign reading {open}")).status_code == 302
    assert Generation.objects.get().prompt == "a sign reading {open}"


def test_a_deleted_preset_in_the_form_is_quietly_dropped(sandbox_team, member, member_client):
    preset = make_preset(sandbox_team, member)
    code = str(preset.code)
    preset.delete()
    url = reverse("studio_generate", args=[sandbox_team.code])
    assert member_client.post(url, form_data(preset=code)).status_code == 302
    assert Generation.objects.get().preset is None


def test_the_picker_lists_the_team_presets_and_searches_them(sandbox_team, member, member_client):
    make_preset(sandbox_team, member, "Watercolour animal")
    make_preset(sandbox_team, member, "Product shot", prompt="a {thing} on linen")
    url = reverse("preset_picker", args=[sandbox_team.code])
    page = member_client.get(url, **HX).content.decode()
    assert "Watercolour animal" in page and "Product shot" in page
    page = member_client.get(url, {"q": "LINEN"}, **HX).content.decode()
    assert "Product shot" in page and "Watercolour animal" not in page
    # A control character in the search is a space, not a database error (PostgreSQL).
    page = member_client.get(url, {"q": "on\x00linen"}, **HX)
    assert page.status_code == 200 and "Product shot" in page.content.decode()


def test_without_htmx_the_fill_renders_the_whole_studio(sandbox_team, member, member_client):
    preset = make_preset(sandbox_team, member)
    data = form_data(prompt=PROMPT, preset=str(preset.code), var_animal="owl", var_place="oak")
    response = member_client.post(reverse("studio_fill", args=[sandbox_team.code]), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Studio" in page and textarea(page, "prompt") == "A owl in oak, watercolour"


def test_a_member_of_two_teams_sees_each_teams_own_presets(sandbox_team, team_b, member, outsider):
    make_membership(team_b, member)
    make_preset(team_b, outsider, "Team B only")
    from django.test import Client

    client = Client()
    client.force_login(member)
    page = client.get(reverse("preset_list", args=[sandbox_team.code])).content.decode()
    assert "Team B only" not in page


def test_the_use_link_opens_the_studio_with_the_preset_without_htmx(
    sandbox_team, member, member_client
):
    preset = make_preset(sandbox_team, member)
    page = member_client.get(reverse("studio", args=[sandbox_team.code]), {"preset": preset.code})
    page = page.content.decode()
    assert textarea(page, "prompt") == PROMPT
    assert "Fill in {animal} and {place}" in page
    assert reverse("studio_fill", args=[sandbox_team.code]) in page
