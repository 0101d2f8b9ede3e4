"""Prompt search: full-text (FTS5 on SQLite, text search on PostgreSQL), safe for any input."""

import pytest
from django.db import connection
from django.urls import reverse

from generator.models import Generation, State
from generator.search import search_generations
from tests.factories import make_generation, make_job

pytestmark = pytest.mark.django_db

# Every character either query language treats as syntax, and its operators spelled as words.
HOSTILE = [
    '"',
    '"unbalanced',
    "light*",
    "*",
    "-lighthouse",
    "lighthouse -fog",
    "NEAR(lighthouse fog)",
    "NEAR",
    "AND",
    "OR lighthouse",
    "NOT",
    "(((",
    "lighthouse)",
    "prompt:lighthouse",
    "^lighthouse",
    "a & b | !c <-> d",
    "'; DROP TABLE generator_generation; --",
    "':* & '",
    "{lighthouse}",
    "\\",
    "%_",
    "🦄 ünïcödé",
]


def generation(team, prompt):
    return make_generation(team, prompt=prompt)


def found(team, text):
    return set(
        search_generations(Generation.objects.filter(team=team), text).values_list(
            "prompt", flat=True
        )
    )


@pytest.fixture
def prompts(team_a, team_b):
    for prompt in (
        "A lighthouse on a cliff at dawn, watercolour",
        "Two lighthouses in fog",
        "Isometric cutaway of a tiny coffee shop",
        "Product photo of a ceramic mug on linen",
    ):
        generation(team_a, prompt)
    generation(team_b, "Team B's secret lighthouse")


def test_a_word_matches_its_prompts_in_any_case(prompts, team_a):
    assert found(team_a, "COFFEE") == {"Isometric cutaway of a tiny coffee shop"}


def test_every_word_must_match(prompts, team_a):
    assert found(team_a, "lighthouse dawn") == {"A lighthouse on a cliff at dawn, watercolour"}
    assert found(team_a, "lighthouse mug") == set()


def test_a_half_typed_word_matches_as_a_prefix(prompts, team_a):
    assert found(team_a, "ceram") == {"Product photo of a ceramic mug on linen"}
    assert found(team_a, "light") == {
        "A lighthouse on a cliff at dawn, watercolour",
        "Two lighthouses in fog",
    }


def test_word_forms_match_each_other(prompts, team_a):
    # Stemming: the plural finds the singular, and the other way round.
    assert found(team_a, "lighthouses") == {
        "A lighthouse on a cliff at dawn, watercolour",
        "Two lighthouses in fog",
    }


def test_other_teams_prompts_never_match(prompts, team_a, team_b):
    assert "Team B's secret lighthouse" not in found(team_a, "secret lighthouse")
    assert found(team_a, "secret") == set()
    assert found(team_b, "secret") == {"Team B's secret lighthouse"}


@pytest.mark.parametrize("text", HOSTILE)
def test_query_syntax_in_the_input_never_errors(prompts, team_a, text):
    team_a_prompts = set(Generation.objects.filter(team=team_a).values_list("prompt", flat=True))
    assert found(team_a, text) <= team_a_prompts
    assert Generation.objects.count() == 5  # and nothing was dropped


@pytest.mark.parametrize("text", ["lighthouse)", "{lighthouse}", "^lighthouse", '"lighthouse'])
def test_syntax_around_a_word_is_ignored_and_the_word_still_matches(prompts, team_a, text):
    assert found(team_a, text) == {
        "A lighthouse on a cliff at dawn, watercolour",
        "Two lighthouses in fog",
    }


def test_punctuation_only_matches_nothing(prompts, team_a):
    assert found(team_a, "!!! ... ???") == set()


def test_edits_and_deletes_stay_in_sync(prompts, team_a):
    mug = Generation.objects.get(prompt__startswith="Product photo")
    mug.prompt = "A teapot on a windowsill"
    mug.save()
    assert found(team_a, "ceramic") == set()
    assert found(team_a, "teapot") == {"A teapot on a windowsill"}
    Generation.objects.filter(prompt__contains="coffee").update(prompt="A bicycle in the rain")
    assert found(team_a, "coffee") == set()
    assert found(team_a, "bicycle") == {"A bicycle in the rain"}
    Generation.objects.filter(prompt__startswith="Two lighthouses").delete()
    assert found(team_a, "lighthouse") == {"A lighthouse on a cliff at dawn, watercolour"}
    generation(team_a, "A new lighthouse")
    assert found(team_a, "lighthouse") == {
        "A lighthouse on a cliff at dawn, watercolour",
        "A new lighthouse",
    }


def test_the_index_exists_for_this_database():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE 'generator_prompt_fts%%' "
                "AND type IN ('table', 'trigger')"
            )
            names = {row[0] for row in cursor.fetchall()}
            assert {
                "generator_prompt_fts",
                "generator_prompt_fts_insert",
                "generator_prompt_fts_update",
                "generator_prompt_fts_delete",
            } <= names
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = "
                "'generator_generation_prompt_search'"
            )
            (definition,) = cursor.fetchone()
            assert "gin" in definition and "to_tsvector" in definition


def test_the_gallery_searches_its_own_team_and_shows_the_empty_state(
    member_client, team_a, team_b, member, outsider
):
    ours = generation(team_a, "harbour at dawn")
    theirs = generation(team_b, "harbour at night")
    mine = make_job(team_a, member, generation=ours, state=State.DONE)
    make_job(team_b, outsider, generation=theirs, state=State.DONE)
    url = reverse("studio", args=[team_a.code])

    html = member_client.get(url, {"q": "harbo"}).content.decode()
    assert f'id="job-{mine.code}"' in html
    assert "harbour at night" not in html

    for text in ("NEAR(", "night", "!!!", "'; --"):
        response = member_client.get(url, {"q": text})
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="job-{mine.code}"' not in html
        assert "No images match these filters." in html
