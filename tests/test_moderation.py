"""Prompt moderation: blocked words (the server's and the team's) are checked in
start_generation, before anything reaches Akool; a refusal names its rule, is audited once and
counted on the usage page; admins edit the team's list and test prompts against every rule."""

import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string

from generator import moderation
from generator.models import AuditAction, AuditEntry, Generation, Job, State, Team
from generator.sandbox.models import SandboxRequest
from generator.starters import retry, start_generation
from tests.factories import make_job
from tests.test_settings import ROOT
from tests.test_studio import form_data

HX = {"HTTP_HX_REQUEST": "true"}


def block(team, *phrases):
    Team.objects.filter(pk=team.pk).update(blocked_phrases="\n".join(phrases))
    team.refresh_from_db()


def refusals():
    return AuditEntry.objects.filter(action=AuditAction.PROMPT_BLOCKED)


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a GORE scene",
        "Gore.",
        "ｇｏｒｅ in full-width letters",
        "g\u200bore with a zero-width space",
        "blood and gore",
        "gore\nat the start of a line",
    ],
)
def test_a_blocked_word_matches_whatever_its_case_or_unicode_form(text):
    assert moderation.find(["gore"], text) == "gore"


@pytest.mark.parametrize("text", ["gorex", "a gorgeous view", "algorecords", "go re"])
def test_only_whole_words_match(text):
    assert moderation.find(["gore"], text) is None


def test_a_phrase_matches_across_any_whitespace_and_case():
    phrases = moderation.parse_phrases("  Red   Wedding \n\n")
    assert phrases == ["red wedding"]
    assert moderation.find(phrases, "the RED\t wedding, again") == "red wedding"
    assert moderation.find(phrases, "a red dress at a wedding") is None


def test_list_entries_are_normalised_too():
    # The admin types the full-width form and the ligature; prompts are plain.
    phrases = moderation.parse_phrases("ＢＬＯＯＤ\nﬁre\nblood")
    assert phrases == ["blood", "fire"]
    assert moderation.find(phrases, "Fire!") == "fire"


def test_non_latin_words_match_as_whole_words():
    phrases = moderation.parse_phrases("Кровь\nstraße")
    assert moderation.find(phrases, "КРОВЬ на снегу") == "кровь"
    assert moderation.find(phrases, "кровью") is None
    assert moderation.find(phrases, "STRASSE at night") == "strasse"


# --- the one check, in start_generation ------------------------------------------------------


def unsaved(team, author, prompt, **fields):
    return Generation(team=team, author=author, prompt=prompt, resolution="1080p", **fields)


def test_start_generation_refuses_a_team_blocked_word_and_says_which_rule(
    sandbox_team, member, django_capture_on_commit_callbacks
):
    block(sandbox_team, "gore")
    with (
        django_capture_on_commit_callbacks() as queued,
        pytest.raises(moderation.PromptBlocked) as refused,
    ):
        start_generation(unsaved(sandbox_team, member, "A scene full of GORE"))
    assert str(refused.value) == (
        "The prompt contains “gore”, which is on Team A's blocked words (Team settings). "
        "Nothing was sent to Akool; rephrase it without that word."
    )
    assert isinstance(refused.value, ValueError)
    assert not queued and not Job.objects.exists() and not Generation.objects.exists()
    entry = refusals().get()
    assert (entry.actor, entry.team, entry.target) == (member, sandbox_team, "prompt")
    assert entry.details == {"rule": "team", "phrase": "gore"}


def test_the_server_list_applies_to_every_team_and_is_named_as_such(settings, sandbox_team, member):
    settings.BLOCKED_PROMPT_PHRASES = ["Forbidden Thing"]
    with pytest.raises(moderation.PromptBlocked) as refused:
        start_generation(
            unsaved(sandbox_team, member, "fine", negative_prompt="no forbidden  thing")
        )
    assert str(refused.value).startswith(
        "The “Leave out” text contains “forbidden thing”, which is on this server's blocked "
        "words (set by its operator)."
    )
    assert refusals().get().details == {"rule": "server", "phrase": "forbidden thing"}


def test_a_clean_prompt_goes_through(sandbox_team, member, settings):
    settings.BLOCKED_PROMPT_PHRASES = ["gore"]
    block(sandbox_team, "blood")
    generation = unsaved(sandbox_team, member, "gorgeous bloodhound")
    jobs = start_generation(generation, save=lambda: generation.save() or generation)
    assert [job.generation.prompt for job in jobs] == ["gorgeous bloodhound"]
    assert not refusals().exists()


def test_the_form_shows_the_refusal_and_keeps_what_was_typed(sandbox_team, member_client):
    block(sandbox_team, "gore")
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(prompt="gore everywhere"), **HX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "contains “gore”, which is on Team A&#x27;s blocked words" in page
    assert "gore everywhere</textarea>" in page
    assert not Job.objects.exists() and not Generation.objects.exists()
    assert refusals().count() == 1


def test_a_retry_of_a_prompt_blocked_since_is_refused_and_audited(sandbox_team, member_client):
    job = make_job(sandbox_team, None, state=State.FAILED)
    Generation.objects.filter(pk=job.generation_id).update(prompt="a sea of gore")
    block(sandbox_team, "gore")
    url = reverse("image_retry", args=[sandbox_team.code, job.code])
    response = member_client.post(url, **HX)
    assert "contains “gore”" in response.content.decode()
    assert Generation.objects.count() == 1  # the refused copy was never stored
    assert Job.objects.count() == 1 and not Job.objects.get().dismissed
    assert refusals().count() == 1


def test_retry_itself_goes_through_the_check(sandbox_team, member):
    job = make_job(sandbox_team, member, state=State.FAILED)
    Generation.objects.filter(pk=job.generation_id).update(prompt="gore")
    block(sandbox_team, "gore")
    job.refresh_from_db()
    with pytest.raises(moderation.PromptBlocked):
        retry(job, member)


@pytest.fixture
def run_submits(monkeypatch):
    """Run queued submit tasks at once, in this process, as the worker would."""

    def fake_async_task(path, *args):
        if path.rsplit(".", 1)[-1] == "submit_generation":
            import_string(path)(*args)

    monkeypatch.setattr("generator.queue.async_task", fake_async_task)


@pytest.mark.django_db(transaction=True)
def test_a_blocked_prompt_makes_no_akool_call_and_one_audit_entry(
    sandbox_url, sandbox_team, member, run_submits
):
    client = Client()
    client.force_login(member)
    url = reverse("studio_generate", args=[sandbox_team.code])
    # A clean prompt reaches the sandbox: the request log is really watching.
    assert client.post(url, form_data(prompt="a quiet harbour")).status_code == 302
    creates = SandboxRequest.objects.filter(kind=SandboxRequest.Kind.CREATE)
    assert creates.count() == 1
    before = SandboxRequest.objects.count()
    block(sandbox_team, "harbour")
    response = client.post(url, form_data(prompt="a quiet Harbour"))
    assert response.status_code == 200
    assert "contains “harbour”" in response.content.decode()
    assert SandboxRequest.objects.count() == before
    assert creates.count() == 1
    assert refusals().count() == 1
    assert Job.objects.count() == 1


# --- settings: the team's list and the test box ----------------------------------------------


def test_an_admin_saves_the_list_and_the_change_is_audited(sandbox_team, team_admin_client):
    url = reverse("blocked_phrases", args=[sandbox_team.code])
    response = team_admin_client.post(url, {"blocked_phrases": "  gore \n\nRed  Wedding\n"})
    assert response.status_code == 302
    sandbox_team.refresh_from_db()
    assert sandbox_team.blocked_phrases == "gore\nRed Wedding"
    entry = AuditEntry.objects.get(action=AuditAction.BLOCKLIST_CHANGED)
    assert entry.details == {"added": ["gore", "red wedding"], "removed": []}


@pytest.mark.parametrize("who", ["member_client", "viewer_client"])
def test_members_and_viewers_cannot_change_the_list(sandbox_team, who, request):
    client = request.getfixturevalue(who)
    url = reverse("blocked_phrases", args=[sandbox_team.code])
    assert client.post(url, {"blocked_phrases": "x"}).status_code == 403
    assert client.post(reverse("moderation_test", args=[sandbox_team.code])).status_code == 403
    sandbox_team.refresh_from_db()
    assert sandbox_team.blocked_phrases == ""


def test_an_outsider_gets_404(sandbox_team, outsider_client):
    url = reverse("blocked_phrases", args=[sandbox_team.code])
    assert outsider_client.post(url, {"blocked_phrases": "x"}).status_code == 404


def test_a_too_long_phrase_is_refused_with_a_message(sandbox_team, owner_client):
    url = reverse("blocked_phrases", args=[sandbox_team.code])
    response = owner_client.post(url, {"blocked_phrases": "x" * 101})
    assert response.status_code == 200
    assert "is longer than 100 characters" in response.content.decode()


def test_an_admin_tests_a_prompt_against_both_lists_without_a_trace(
    settings, sandbox_team, owner_client
):
    settings.BLOCKED_PROMPT_PHRASES = ["gore"]
    block(sandbox_team, "blood")
    url = reverse("moderation_test", args=[sandbox_team.code])
    answer = owner_client.post(url, {"prompt": "BLOOD moon"}, **HX).content.decode()
    assert "Refused." in answer and "“blood”, which is on Team A" in answer
    answer = owner_client.post(url, {"prompt": "a moon", "negative_prompt": "gore"}, **HX)
    assert "this server&#x27;s blocked words" in answer.content.decode()
    answer = owner_client.post(url, {"prompt": "a bloodhound"}, **HX).content.decode()
    assert "Allowed: no rule blocks this prompt." in answer
    assert not refusals().exists()
    page = owner_client.get(reverse("team_settings", args=[sandbox_team.code])).content.decode()
    assert "1 word blocked on this whole server" in page


def test_the_usage_page_counts_this_months_refusals(sandbox_team, member, member_client):
    block(sandbox_team, "gore")
    for _ in range(2):
        with pytest.raises(moderation.PromptBlocked):
            start_generation(unsaved(sandbox_team, member, "gore"))
    page = member_client.get(reverse("usage", args=[sandbox_team.code])).content.decode()
    assert '<dd class="usage-refused">2</dd>' in page


def test_the_server_list_comes_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env["BLOCKED_PROMPT_PHRASES"] = " Gore , red  wedding,, "
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'akool_web.settings'; "
        "django.setup(); from generator import moderation; print(moderation.server_phrases())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "['gore', 'red wedding']", result.stderr
