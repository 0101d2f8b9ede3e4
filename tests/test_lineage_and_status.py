"""What Akool says about a job is recorded truthfully, and U/V lineage survives deletions."""

from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse

from generator import starters, tasks, trash
from generator.akool.client import ImageResult
from generator.models import Backend, Job, State, Team
from tests.factories import make_akool_team, make_generated_job, make_job

pytestmark = pytest.mark.django_db

BUTTONS = ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
NOW = datetime(2027, 5, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: queued.append((func, args)))
    return queued


def akool_job(team, state=State.DONE, akool_id="a" * 24, **fields):
    """A job Akool has accepted, in `state`."""
    return make_generated_job(team, prompt="a lineage", state=state, akool_id=akool_id, **fields)


def store_files(job):
    for field in (job.original, job.thumbnail, job.preview):
        field.save(f"{job.code}-{field.field.name}.png", ContentFile(b"png"), save=False)
    job.save()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        ImageResult.from_data({"_id": "a" * 24, "image_status": 4}),
        ImageResult.from_webhook({"_id": "a" * 24, "status": 4, "type": "image"}),
    ],
    ids=["poll", "webhook"],
)
def test_a_job_akool_reports_failed_records_status_4(team_a, result):
    job = akool_job(team_a, state=State.PROCESSING, akool_status=2)
    tasks.apply_status(job, result)
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.akool_status == 4
    assert "could not generate" in job.error_message


def test_a_webhook_completion_leaves_the_buttons_to_be_asked_for(team_a, no_queue):
    job = akool_job(team_a, state=State.PROCESSING)
    result = ImageResult.from_webhook({"_id": job.akool_id, "status": 3, "url": "https://c/x.png"})
    tasks.apply_status(job, result)
    job.refresh_from_db()
    assert job.state == State.STORING and job.buttons is None
    assert [func for func, _ in no_queue] == [tasks.store_job]


def test_a_poll_completion_keeps_its_buttons(team_a):
    job = akool_job(team_a, state=State.PROCESSING)
    result = ImageResult.from_data(
        {
            "_id": job.akool_id,
            "image_status": 3,
            "image": "https://c/x.png",
            "buttons": BUTTONS,
            "used_buttons": ["U1"],
        }
    )
    tasks.apply_status(job, result)
    job.refresh_from_db()
    assert job.buttons == BUTTONS and job.used_buttons == ["U1"]


def test_pressing_a_button_before_akool_named_them_says_so(team_a, owner):
    job = akool_job(team_a, buttons=None)
    with pytest.raises(ValueError, match="not yet said which"):
        job.make_button_child("U1", owner)


def test_a_done_job_missing_its_buttons_is_polled_once_then_left_alone(team_a):
    with time_machine.travel(NOW, tick=False):
        job = akool_job(team_a, buttons=None, next_poll_at=NOW)
        assert list(Job.objects.due_for_poll()) == [job]
        result = ImageResult.from_data(
            {"_id": job.akool_id, "image_status": 3, "image": "https://c/x", "buttons": BUTTONS}
        )
        tasks.apply_status(job, result)
        job.refresh_from_db()
        assert job.state == State.DONE and job.buttons == BUTTONS
        assert not Job.objects.due_for_poll().exists()


def test_asking_for_buttons_gives_up_without_touching_the_image(team_a):
    from generator.akool.client import AkoolError, ErrorKind

    with time_machine.travel(NOW, tick=False):
        job = akool_job(team_a, buttons=None, next_poll_at=NOW)
        tasks._apply_poll(job, AkoolError("slow", kind=ErrorKind.TRANSIENT))
        job.refresh_from_db()
        assert job.state == State.DONE and job.buttons is None
        assert job.next_poll_at > NOW  # backed off, not asked in a hot loop
        tasks._apply_poll(job, AkoolError("gone", code=1008, kind=ErrorKind.PERMANENT))
        job.refresh_from_db()
        assert job.state == State.DONE and job.buttons == [] and job.next_poll_at is None


# --- result links: a grace for a CDN that is not ready yet ---------------------------------------


@pytest.fixture
def akool_team(db):
    return make_akool_team("Real")


@responses.activate
def test_a_cdn_404_right_after_completion_is_retried_not_expired(akool_team, media):
    responses.get("https://cdn.example.com/x.png", status=404)
    with time_machine.travel(NOW, tick=False):
        job = akool_job(
            akool_team,
            state=State.STORING,
            result_url="https://cdn.example.com/x.png",
            result_seen_at=NOW - timedelta(minutes=2),
            buttons=[],
        )
        tasks.store_job(job.pk)
    job.refresh_from_db()
    assert job.state == State.STORING
    assert job.lease_until > NOW and "Retrying download" in job.error_message


@responses.activate
def test_a_cdn_403_after_the_grace_expires_the_job(akool_team, media, settings):
    responses.get("https://cdn.example.com/x.png", status=403)
    grace = timedelta(seconds=settings.RESULT_LINK_GRACE_SECONDS)
    with time_machine.travel(NOW, tick=False):
        job = akool_job(
            akool_team,
            state=State.STORING,
            result_url="https://cdn.example.com/x.png",
            result_seen_at=NOW - grace - timedelta(seconds=1),
            buttons=[],
        )
        tasks.store_job(job.pk)
    job.refresh_from_db()
    assert job.state == State.EXPIRED and "expired" in job.error_message


def test_a_result_older_than_seven_days_expires_without_a_download(akool_team, media):
    with time_machine.travel(NOW, tick=False):
        job = akool_job(
            akool_team,
            state=State.STORING,
            result_url="https://cdn.example.com/x.png",
            result_seen_at=NOW - timedelta(days=7, seconds=1),
        )
        tasks.store_job(job.pk)  # responses is not active: a download would be blocked
    job.refresh_from_db()
    assert job.state == State.EXPIRED


# --- lineage and deletion ---------------------------------------------------------------------


@pytest.fixture
def family(team_a, owner, media):
    parent = akool_job(team_a, buttons=BUTTONS, author=owner)
    store_files(parent)
    children = []
    for i, button in enumerate(("U2", "V3")):
        child = make_job(
            team_a,
            owner,
            generation=parent.generation,
            parent=parent,
            button=button,
            state=State.DONE,
            akool_id=f"{i}" * 24,
            buttons=[],
        )
        store_files(child)
        children.append(child)
    return parent, children


def test_deleting_an_image_with_children_keeps_them_and_their_files(
    owner_client, family, django_capture_on_commit_callbacks
):
    parent, children = family
    url = reverse("image_delete", args=[parent.team.code, parent.code])
    response = owner_client.post(url)
    assert response.status_code in (200, 302)
    # In the trash, the children point there; once purged, they stand alone.
    page = owner_client.get(reverse("image_detail", args=[parent.team.code, children[0].code]))
    assert "an image in the trash" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        trash.purge(Job.objects.filter(pk=parent.pk))
    assert not Job.objects.filter(pk=parent.pk).exists()
    for child in children:
        child.refresh_from_db()
        assert child.parent is None and child.button and child.state == State.DONE
        assert child.original.storage.exists(child.original.name)
    page = owner_client.get(reverse("image_detail", args=[parent.team.code, children[0].code]))
    assert page.status_code == 200
    assert "an image that was deleted" in page.content.decode()


def test_a_child_of_a_deleted_image_cannot_be_retried_or_sent(team_a, owner, family):
    parent, _ = family
    draft = make_job(team_a, owner, generation=parent.generation, parent=parent, button="U4")
    failed = make_job(
        team_a,
        owner,
        generation=parent.generation,
        parent=parent,
        button="V1",
        state=State.FAILED,
    )
    Job.objects.filter(pk=parent.pk).delete()
    tasks.submit_button(draft.pk)
    draft.refresh_from_db()
    assert draft.state == State.FAILED and "has been deleted" in draft.error_message
    failed.refresh_from_db()
    with pytest.raises(ValueError, match="has been deleted"):
        starters.retry(failed, owner)


def test_deleting_a_team_with_upscales_and_variations_works(owner_client, team_a, family):
    response = owner_client.post(reverse("team_delete", args=[team_a.code]), {"confirm": "A"})
    if response.status_code == 200:  # the confirmation names the team: use its real name
        response = owner_client.post(
            reverse("team_delete", args=[team_a.code]), {"confirm": team_a.name}
        )
    assert response.status_code == 302
    assert not Team.objects.filter(pk=team_a.pk).exists()
    assert not Job.objects.filter(team_id=team_a.pk).exists()


# --- the team settings say when webhooks cannot work ---------------------------------------------


def test_settings_say_webhooks_are_off_without_a_client_id(owner_client, team_a, settings):
    settings.PUBLIC_BASE_URL = "https://images.example.com"
    team_a.backend = Backend.AKOOL
    team_a.set_credentials("k" * 32, "")
    team_a.save()
    page = owner_client.get(reverse("team_settings", args=[team_a.code])).content.decode()
    assert "Webhooks are off for this team: add the clientId" in page
    assert "Needed only for token authentication" not in page

    team_a.set_credentials("k" * 32, "AKexampleClientId0001=")
    team_a.save()
    page = owner_client.get(reverse("team_settings", args=[team_a.code])).content.decode()
    assert "Webhooks are off" not in page and 'data-webhooks="on"' in page


# --- a create is waited for, never turned into "outcome unknown" by impatience ---------------


@pytest.mark.django_db(transaction=True)
def test_a_slow_create_answer_is_waited_for_and_a_timeout_is_unknown(
    sandbox_client_factory, sandbox_account
):
    """Scaled down: reads give up after 0.5 s, yet a create answered after 2 s succeeds because
    creates have their own, longer wait (two minutes by default); past it, unknown."""
    from generator.akool.client import AkoolError, ErrorKind

    # The impatient client first: the patient call below outlasts the sandbox's answer to it.
    hasty = sandbox_client_factory(
        sandbox_account.api_key, read_timeout=0.5, create_read_timeout=0.5
    )
    with pytest.raises(AkoolError) as error:
        hasty.create_image(prompt="a slow lake [slow:2]")
    assert error.value.kind == ErrorKind.UNKNOWN

    patient = sandbox_client_factory(
        sandbox_account.api_key, read_timeout=0.5, create_read_timeout=10
    )
    (created,) = patient.create_image(prompt="another slow lake [slow:2.5]")
    assert created.id and created.status in (1, 2)
