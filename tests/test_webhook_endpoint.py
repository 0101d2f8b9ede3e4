"""The webhook receiver: verified callbacks move jobs; anything else is refused, never a 500."""

import json

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from generator.akool.webhook import build_webhook_body
from generator.models import Job, State
from tests.factories import make_akool_team, make_generated_job

pytestmark = pytest.mark.django_db

CLIENT_ID = "AKexampleClientId0001="
SECRET = "ExampleSecretKey0123456789abcdef"


@pytest.fixture
def team():
    return make_akool_team("Hooked", SECRET, CLIENT_ID)


@pytest.fixture
def processing_job(team):
    return make_generated_job(
        team, prompt="a hook", state=State.PROCESSING, akool_id="6650a1b2c3d4e5f6a7b8c9d0"
    )


def post(client, team, body):
    return client.post(f"/hooks/akool/{team.webhook_token}/", body, content_type="application/json")


def test_a_verified_completion_moves_the_job_to_storing_once(
    client, team, processing_job, monkeypatch
):
    from generator import tasks

    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: queued.append((func, args)))
    payload = {
        "_id": processing_job.akool_id,
        "status": 3,
        "type": "image",
        "url": "https://cdn.example.com/x.png",
        "deduction_credit": 2,
    }
    body = json.dumps(build_webhook_body(payload, CLIENT_ID, SECRET))
    assert post(client, team, body).status_code == 200
    assert post(client, team, body).status_code == 200  # Akool retries: a no-op
    job = Job.objects.get(pk=processing_job.pk)
    assert job.state == State.STORING and job.deduction_credit == 2
    assert queued == [(tasks.store_job, (job.pk,))]


def test_a_forged_signature_is_refused_and_changes_nothing(client, team, processing_job):
    body = build_webhook_body({"_id": processing_job.akool_id, "status": 4}, CLIENT_ID, SECRET)
    body["signature"] = "0" * 40
    response = post(client, team, json.dumps(body))
    assert response.status_code == 400
    assert SECRET not in response.content.decode()
    assert Job.objects.get(pk=processing_job.pk).state == State.PROCESSING


def test_a_callback_encrypted_with_another_key_is_refused(client, team, processing_job):
    body = build_webhook_body(
        {"_id": processing_job.akool_id, "status": 4}, CLIENT_ID, "AnotherSecretKey0123456789abcdef"
    )
    assert post(client, team, json.dumps(body)).status_code == 400


def test_the_webhook_token_never_reaches_the_logs(client, team, caplog):
    post(client, team, "{}")
    assert team.webhook_token not in caplog.text
    assert "hooks/akool/" in caplog.text


def test_a_team_whose_secrets_fit_no_configured_key_answers_503_and_logs_it(
    client, team, processing_job, settings, caplog
):
    body = json.dumps(
        build_webhook_body({"_id": processing_job.akool_id, "status": 4}, CLIENT_ID, SECRET)
    )
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = post(client, team, body)
    assert response.status_code == 503  # Akool retries; the job waits for the fix
    assert Job.objects.get(pk=processing_job.pk).state == State.PROCESSING
    assert any(
        record.levelname == "ERROR" and "FIELD_ENCRYPTION_KEYS" in record.getMessage()
        for record in caplog.records
    )
    assert team.webhook_token not in caplog.text


def test_an_unknown_webhook_address_is_404(client, team):
    assert (
        client.post("/hooks/akool/not-a-token/", "{}", content_type="application/json").status_code
        == 404
    )


@hsettings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["signature", "dataEncrypt", "timestamp", "nonce", "x"]),
            st.one_of(st.text(max_size=60), st.integers(), st.none(), st.booleans()),
        )
        .map(json.dumps)
        .map(str.encode),
    )
)
def test_no_body_makes_the_webhook_fall_over(client, team, body):
    response = client.post(
        f"/hooks/akool/{team.webhook_token}/", body, content_type="application/json"
    )
    assert response.status_code in (200, 400)


def test_a_webhook_before_the_create_answer_moves_the_job_once_its_id_is_recorded(
    client, team, monkeypatch
):
    """Akool can call back before our create call's answer is recorded; the result waits for
    that answer instead of the job waiting for the safety-net poll."""
    from generator import tasks
    from generator.akool.results import ImageJob

    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: queued.append((func, args)))
    job = make_generated_job(team, prompt="early", state=State.SUBMITTING)
    akool_id = "6650a1b2c3d4e5f6a7b8c9ff"
    payload = {
        "_id": akool_id,
        "status": 3,
        "type": "image",
        "url": "https://cdn.example.com/e.png",
    }
    body = json.dumps(build_webhook_body(payload, CLIENT_ID, SECRET))
    assert post(client, team, body).status_code == 200
    assert Job.objects.get(pk=job.pk).state == State.SUBMITTING

    record = ImageJob(akool_id, 1, 2, "", None, None, None, None, raw={})
    tasks._record_created([job], [record])
    job.refresh_from_db()
    assert job.state == State.STORING and job.akool_id == akool_id
    assert (tasks.store_job, (job.pk,)) in queued
    # Claimed once: recording the same answer again finds nothing parked.
    queued.clear()
    tasks._record_created([job], [record])
    assert (tasks.store_job, (job.pk,)) not in queued
