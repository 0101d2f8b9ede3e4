"""A failed image says why in words a person can act on, and offers Retry only when asking
again can succeed: one table of causes (generator/models/failures.py), read by the card, the
image page and the retry view alike."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generator import follower, source_links, tasks
from generator.akool.errors import MSG_MAYBE_CREATED, AkoolError, ErrorKind, error_for_code
from generator.akool.results import ImageResult
from generator.models import Failure, Job, Mode, State
from generator.models.failures import REASONS, describe, failure_for
from tests.factories import make_generation, make_job

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: None)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def submitting(team, author=None, mode=Mode.TEXT, source_url="", attempts=0):
    generation = make_generation(
        team,
        author,
        "a kite over hills",
        mode=mode,
        source_url=source_url,
        similar=0.5 if source_url else None,
    )
    job = generation.create_jobs()[0]
    Job.objects.filter(pk=job.pk).update(state=State.SUBMITTING, submit_attempts=attempts)
    return Job.objects.select_related("team", "generation").get(pk=job.pk)


def failed(team, author, failure, detail="", button="", parent=None):
    generation = make_generation(team, author, "a storm at sea")
    job = make_job(generation=generation, button=button, parent=parent)
    job.mark_failed(failure, detail)
    job.refresh_from_db()
    return job


def refreshed(job):
    return Job.objects.get(pk=job.pk)


# --- each cause: its sentence and whether a retry can help ----------------------------------


@pytest.mark.parametrize(
    ("code", "failure", "says", "retry"),
    [
        (1003, Failure.INVALID, "Change the prompt or settings", False),
        (1006, Failure.NO_CREDITS, "Add credits in Akool", False),
        (1104, Failure.NO_CREDITS, "Add credits in Akool", False),
        (1103, Failure.NO_CREDITS, "Add credits in Akool", False),
        (1101, Failure.BAD_KEY, "An admin must update the key", False),
        (1102, Failure.BAD_KEY, "An admin must update the key", False),
        (1109, Failure.BAD_KEY, "An admin must update the key", False),
        (1200, Failure.ACCOUNT, "must sort this out in Akool", False),
        (1213, Failure.ACCOUNT, "must sort this out in Akool", False),
        (1011, Failure.NOT_ALLOWED, "Pick another image or button", False),
        (1008, Failure.LOST, "no longer knows this job; try again", True),
        (4242, Failure.INVALID, "Akool returned error code 4242", False),
    ],
)
def test_an_akool_refusal_says_what_to_do_and_offers_retry_only_if_it_can_help(
    team_a, code, failure, says, retry
):
    job = submitting(team_a)
    tasks._submit_failed([job], error_for_code(code, "boom"))
    job = refreshed(job)
    assert job.state == State.FAILED
    assert job.failure == failure and job.error_code == code
    assert says in job.error_message
    assert job.can_retry is retry


def test_akool_busy_after_every_try_is_worth_retrying_later(team_a):
    job = submitting(team_a, attempts=tasks.MAX_SUBMIT_ATTEMPTS - 1)
    tasks._submit_failed([job], error_for_code(2001))
    job = refreshed(job)
    assert job.failure == Failure.BUSY and job.state == State.FAILED
    assert job.error_message.startswith("Akool had a server error")
    assert "nothing was made or charged; try again in a few minutes" in job.error_message
    assert job.can_retry


def test_a_lost_answer_is_outcome_unknown_and_retryable_with_its_warning(team_a):
    job = submitting(team_a)
    tasks._submit_failed([job], AkoolError(MSG_MAYBE_CREATED, kind=ErrorKind.UNKNOWN))
    job = refreshed(job)
    assert job.state == State.UNKNOWN and job.failure == Failure.UNKNOWN
    assert "may or may not have been created" in job.error_message
    assert job.can_retry


def test_akool_reporting_a_failure_is_retryable(team_a):
    job = submitting(team_a)
    Job.objects.filter(pk=job.pk).update(state=State.PROCESSING, akool_id="a" * 24)
    tasks.apply_status(refreshed(job), ImageResult.from_data({"_id": "a" * 24, "image_status": 4}))
    job = refreshed(job)
    assert job.failure == Failure.AKOOL_FAILED and job.can_retry
    assert "perhaps with a different prompt" in job.error_message


def test_an_expired_result_is_retryable(team_a):
    job = submitting(team_a)
    seen = timezone.now() - tasks.RESULT_URL_LIFETIME - timedelta(minutes=1)
    Job.objects.filter(pk=job.pk).update(state=State.STORING, result_seen_at=seen)
    tasks.store_job(job.pk)
    job = refreshed(job)
    assert job.state == State.EXPIRED and job.failure == Failure.EXPIRED and job.can_retry
    assert "expired before the image could be saved" in job.error_message


def test_a_job_akool_never_finished_is_retryable(team_a):
    job = submitting(team_a)
    Job.objects.filter(pk=job.pk).update(
        state=State.PROCESSING, submitted_at=timezone.now() - timedelta(hours=1)
    )
    follower.give_up_stuck(timezone.now())
    job = refreshed(job)
    assert job.failure == Failure.STUCK and job.can_retry
    assert "within 30 minutes" in job.error_message


def test_a_variation_of_a_deleted_image_cannot_be_retried(team_a, owner):
    parent = failed(team_a, owner, Failure.BUSY)
    child = failed(team_a, owner, Failure.BUSY, button="V1", parent=parent)
    assert child.can_retry
    parent.delete()
    child = refreshed(child)
    assert not child.can_retry
    assert "has been deleted" in child.retry_refusal


def test_every_cause_has_a_sentence_and_a_rule():
    assert set(REASONS) == set(Failure)
    for failure in Failure:
        assert describe(failure, "Something happened.").endswith(".")
    assert failure_for(AkoolError("x", kind=ErrorKind.TRANSIENT)) == Failure.BUSY
    assert failure_for(AkoolError("x", kind=ErrorKind.UNKNOWN)) == Failure.UNKNOWN


# --- the source image a person gave ----------------------------------------------------------


def test_an_unreachable_source_link_is_named_with_the_status_it_answered(
    team_a, web_server, public_loopback
):
    site = web_server({"/ok.png": (200, {"Content-Type": "image/png"}, b"png")})
    job = submitting(team_a, mode=Mode.IMAGE, source_url=f"{site}/gone.png")
    tasks._submit_failed([job], error_for_code(1003, "source_images[0] could not be fetched"))
    job = refreshed(job)
    assert job.failure == Failure.SOURCE and not job.can_retry
    assert job.error_message == (
        "Akool could not fetch the source image: the link answered 404. "
        "Use another source image and generate again."
    )


def test_a_source_that_answers_is_not_blamed(team_a, web_server, public_loopback):
    site = web_server({"/ok.png": (200, {"Content-Type": "image/png"}, b"png")})
    job = submitting(team_a, mode=Mode.IMAGE, source_url=f"{site}/ok.png")
    tasks._submit_failed([job], error_for_code(1003))
    assert refreshed(job).failure == Failure.INVALID


def test_a_source_link_of_ours_to_a_deleted_image_says_so(team_a, owner):
    source = failed(team_a, owner, Failure.BUSY)
    Job.objects.filter(pk=source.pk).update(state=State.DONE)
    url = source_links.url_for(refreshed(source))
    source.delete()
    assert source_links.why_unreachable(url, team_a) == "the image it links to has been deleted"


# --- what the pages offer --------------------------------------------------------------------


def studio(team):
    return reverse("studio", args=[team.code])


def retry_url(team, job):
    return reverse("image_retry", args=[team.code, job.code])


def test_the_card_offers_retry_only_when_it_can_succeed(member_client, sandbox_team, member):
    no_credits = failed(
        sandbox_team, member, Failure.NO_CREDITS, "The Akool account has no credits."
    )
    busy = failed(sandbox_team, member, Failure.BUSY, "Akool had a server error.")
    unknown = failed(sandbox_team, member, Failure.UNKNOWN, MSG_MAYBE_CREATED)
    html = member_client.get(studio(sandbox_team)).content.decode()
    cards = {
        job: html.split(f'id="job-{job.code}"')[1].split("</article>")[0]
        for job in (no_credits, busy, unknown)
    }
    assert "Add credits in Akool, then generate again." in cards[no_credits]
    assert "/retry/" not in cards[no_credits] and "Dismiss" in cards[no_credits]
    assert ">Retry</button>" in cards[busy]
    assert "Retry — may charge again" in cards[unknown]


def test_the_image_page_offers_retry_only_when_it_can_succeed(member_client, sandbox_team, member):
    bad_key = failed(sandbox_team, member, Failure.BAD_KEY, "Akool rejected the credentials.")
    stuck = failed(sandbox_team, member, Failure.STUCK, "30 minutes")
    page = reverse("image_detail", args=[sandbox_team.code, bad_key.code])
    html = member_client.get(page).content.decode()
    assert "An admin must update the key in Team settings" in html
    assert retry_url(sandbox_team, bad_key) not in html and "Dismiss" in html
    page = reverse("image_detail", args=[sandbox_team.code, stuck.code])
    assert retry_url(sandbox_team, stuck) in member_client.get(page).content.decode()


def test_the_retry_view_refuses_what_cannot_succeed_with_the_same_sentence(
    member_client, sandbox_team, member
):
    job = failed(sandbox_team, member, Failure.INVALID, "Akool rejected the request.")
    html = member_client.post(retry_url(sandbox_team, job), **HX).content.decode()
    assert '<p class="alert alert-error small" role="alert">' in html
    assert job.error_message in html
    response = member_client.post(retry_url(sandbox_team, job), follow=True)
    assert job.error_message in response.content.decode()
    assert Job.objects.count() == 1 and not refreshed(job).dismissed


def test_the_retry_view_still_retries_what_can_succeed(member_client, sandbox_team, member):
    job = failed(sandbox_team, member, Failure.AKOOL_FAILED)
    member_client.post(retry_url(sandbox_team, job), **HX)
    assert refreshed(job).dismissed
    assert Job.objects.exclude(pk=job.pk).get().state == State.DRAFT


def test_a_card_failed_before_causes_were_recorded_keeps_its_retry(
    member_client, sandbox_team, member
):
    job = make_job(
        generation=make_generation(sandbox_team, member, "old"),
        state=State.FAILED,
        error_message="Akool did not make this one.",
    )
    assert job.can_retry
    assert retry_url(sandbox_team, job) in member_client.get(studio(sandbox_team)).content.decode()
