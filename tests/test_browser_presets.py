"""Team presets and moderation in a real Chromium, under the strict CSP: pick a preset, fill its
variables, generate; a blocked prompt comes back as a message in the form."""

import pytest

from generator.models import Generation, Job, PromptPreset, Team
from tests import test_browser_studio as studio_tests
from tests.fixtures_pipeline import wait_for
from tests.test_browser_studio import assert_clean, expect, studio

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

open_as = studio_tests.open_as
OWN_TEXT = "(or write your own text in the prompt)."


def test_a_preset_with_variables_fills_the_form_and_generates_the_filled_prompt(
    open_as, sandbox_team, member
):
    preset = PromptPreset.objects.create(
        team=sandbox_team,
        created_by=member,
        name="Watercolour animal",
        prompt="A {animal} in {place}, watercolour",
        negative_prompt="no {place} signs",
        scale="16:9",
        resolution="1080p",
        batch=2,
    )
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    picker = page.locator("#preset-picker")
    picker.locator("summary").click()
    picker.get_by_role("link", name="Watercolour animal").click()

    prompt = page.get_by_label("Prompt", exact=True)
    expect(prompt).to_have_value("A {animal} in {place}, watercolour")
    expect(page.get_by_label("Aspect ratio")).to_have_value("16:9")
    expect(page.get_by_label("Images")).to_have_value("2")
    box = page.locator("#preset-box")
    expect(box.locator(".preset-missing")).to_have_text(
        "Fill in {animal} and {place}: type a value for each " + OWN_TEXT
    )
    # One of two: the prompt takes it, the box asks for the other by name.
    box.get_by_label("animal").fill("red fox")
    box.get_by_role("button", name="Fill in the prompt").click()
    expect(prompt).to_have_value("A red fox in {place}, watercolour")
    expect(box.locator(".preset-missing")).to_have_text(
        "Fill in {place}: type a value for each " + OWN_TEXT
    )
    # Enter in the box fills too (it never generates with a half-filled prompt).
    box.get_by_label("place").fill("snow")
    box.get_by_label("place").press("Enter")
    expect(prompt).to_have_value("A red fox in snow, watercolour")
    expect(page.get_by_text("The preset “Watercolour animal” is filled in")).to_be_visible()
    assert not Job.objects.exists()

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Started 2 images")).to_be_visible()
    generation = Generation.objects.get()
    assert generation.prompt == "A red fox in snow, watercolour"
    assert generation.negative_prompt == "no snow signs"
    assert (generation.scale, generation.batch, generation.preset) == ("16:9", 2, preset)
    wait_for(lambda: PromptPreset.objects.get().uses == 1, 5, message="the use counted")
    assert_clean(page)


def test_a_blocked_prompt_is_refused_in_the_form_with_the_rule(open_as, sandbox_team, member):
    Team.objects.filter(pk=sandbox_team.pk).update(blocked_phrases="gore")
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    page.get_by_label("Prompt", exact=True).fill("A hall full of Gore")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#generate-form .errorlist.nonfield")).to_contain_text(
        "The prompt contains “gore”, which is on Team A's blocked words (Team settings)."
    )
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("A hall full of Gore")
    assert not Job.objects.exists()
    assert_clean(page)
