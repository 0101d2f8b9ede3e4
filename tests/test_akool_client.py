"""The Akool client: field names, auth, error classification, retries, downloads, secrecy.

HTTP is faked with `responses`; a few tests use real loopback sockets so the "was the
request sent?" classification is checked against what requests/urllib3 really raise.
"""

import io
import json
import logging
import pickle
import socket
import ssl
import threading
from http.client import RemoteDisconnected

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import SSLError as Urllib3SSLError

from generator.akool import client as akool_client
from generator.akool.client import (
    ERROR_MESSAGES,
    AkoolClient,
    AkoolError,
    DownloadError,
    ErrorKind,
    ImageJob,
    ImageResult,
)

BASE = "https://akool.test"
API_KEY = "SecretApiKey0123456789abcdefABCD"
CLIENT_ID = "AKexampleClientId0001="
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token-body.sig"

CREATE_URL = BASE + akool_client.PATH_CREATE
BUTTON_URL = BASE + akool_client.PATH_BUTTON
RESULT_URL = BASE + akool_client.PATH_RESULT
CREDIT_URL = BASE + akool_client.PATH_CREDIT
TOKEN_URL = BASE + akool_client.PATH_TOKEN
CDN_URL = "https://cdn.test/1714032892336-result.png"

JOB_ID = "6650a1b2c3d4e5f6a7b8c9d0"

DOCUMENTED_CODES = {
    1003: ErrorKind.PERMANENT,
    1004: ErrorKind.PERMANENT,
    1005: ErrorKind.TRANSIENT,
    1006: ErrorKind.PERMANENT,
    1008: ErrorKind.PERMANENT,
    1009: ErrorKind.PERMANENT,
    1010: ErrorKind.PERMANENT,
    1011: ErrorKind.PERMANENT,
    1014: ErrorKind.PERMANENT,
    1101: ErrorKind.PERMANENT,
    1102: ErrorKind.PERMANENT,
    1103: ErrorKind.PERMANENT,
    1104: ErrorKind.PERMANENT,
    1108: ErrorKind.TRANSIENT,
    1109: ErrorKind.PERMANENT,
    1200: ErrorKind.PERMANENT,
    1213: ErrorKind.PERMANENT,
    1221: ErrorKind.PERMANENT,
    2001: ErrorKind.TRANSIENT,
}


def job_record(job_id=JOB_ID, **extra):
    record = {
        "_id": job_id,
        "uid": 1,
        "team_id": "t1",
        "create_time": 1716859314633,
        "prompt": "a lake",
        "origin_prompt": "a lake",
        "source_image": "",
        "image_status": 1,
        "image_sub_status": 1,
        "deduction_credit": 1,
        "model_name": "wavespeed-ai/flux-krea-dev-lora",
        "provider": "wavespeed-ai",
        "type": 4,
        "from": 4,
        "sub_type": 40001,
        "file_name": "ImageGenerator_1716859314633.png",
    }
    record.update(extra)
    return record


def ok(data):
    return {"code": 1000, "msg": "OK", "data": data}


def fail(code, msg="something went wrong"):
    return {"code": code, "msg": msg}


def sent_json(call):
    return json.loads(call.request.body)


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    akool_client.clear_token_cache()
    yield
    akool_client.clear_token_cache()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client():
    return AkoolClient(BASE, API_KEY, backoff=0)


@pytest.fixture
def token_client():
    return AkoolClient(BASE, API_KEY, client_id=CLIENT_ID, use_token=True, backoff=0)


# --- create: shapes and field names --------------------------------------------------------


def test_create_with_batch_one_returns_a_list_of_one_job(mocked, client):
    mocked.post(CREATE_URL, json=ok(job_record()))

    jobs = client.create_image(prompt="a lake")

    assert len(jobs) == 1
    job = jobs[0]
    assert isinstance(job, ImageJob)
    assert job.id == JOB_ID
    assert job.status == 1
    assert job.deduction_credit == 1
    assert job.model_name == "wavespeed-ai/flux-krea-dev-lora"
    assert job.sub_type == 40001
    assert job.create_time == 1716859314633
    assert job.parent_id is None
    assert job.button is None
    assert job.raw["provider"] == "wavespeed-ai"


def test_create_with_batch_of_two_returns_every_job_of_the_array(mocked, client):
    # The documented batch example carries only a subset of fields per element.
    mocked.post(
        CREATE_URL,
        json=ok(
            [
                {"_id": "a" * 24, "image_status": 1, "type": 4, "from": 4, "sub_type": 40001},
                {"_id": "b" * 24, "image_status": 1, "type": 4, "from": 4, "sub_type": 40001},
            ]
        ),
    )

    jobs = client.create_image(prompt="a lake", batch_quantity=2)

    assert [job.id for job in jobs] == ["a" * 24, "b" * 24]
    assert all(job.status == 1 and job.deduction_credit is None for job in jobs)
    assert all(job.model_name == "" for job in jobs)
    assert sent_json(mocked.calls[0])["batch_quantity"] == 2


def test_create_sends_v4_field_names_with_lowercase_webhookurl(mocked, client):
    mocked.post(CREATE_URL, json=ok(job_record(sub_type=40002)))

    client.create_image(
        prompt="make it snowy",
        negative_prompt="people",
        source_image="https://img.test/source.png",
        scale="3:2",
        resolution="1080p",
        batch_quantity=3,
        similar=0.7,
        model_name="wavespeed-ai/flux-kontext-dev",
        webhook_url="https://app.test/hooks/akool",
    )

    assert sent_json(mocked.calls[0]) == {
        "prompt": "make it snowy",
        "negative_prompt": "people",
        "source_images": ["https://img.test/source.png"],
        "scale": "3:2",
        "resolution": "1080p",
        "batch_quantity": 3,
        "similar": 0.7,
        "model_name": "wavespeed-ai/flux-kontext-dev",
        "webhookurl": "https://app.test/hooks/akool",
    }
    assert mocked.calls[0].request.headers["Content-Type"] == "application/json"


def test_create_leaves_out_empty_optional_fields(mocked, client):
    mocked.post(CREATE_URL, json=ok(job_record()))

    client.create_image(prompt="a lake")

    assert sent_json(mocked.calls[0]) == {"prompt": "a lake"}


def test_create_sends_similar_zero_because_zero_is_a_real_value(mocked, client):
    mocked.post(CREATE_URL, json=ok(job_record()))

    client.create_image(prompt="a lake", source_image="https://img.test/s.png", similar=0)

    assert sent_json(mocked.calls[0])["similar"] == 0


def test_create_by_button_sends_camelcase_webhook_url_and_returns_the_child_job(mocked, client):
    mocked.post(
        BUTTON_URL,
        json=ok(
            {
                "_id": "6508292f16e5ba407d47d21b",
                "image_content_model_id": "6508288416e5ba407d47d13f",
                "create_time": 1695033647012,
                "op_button": "U2",
                "op_buttonMessageId": "kwZsk6elltno5Nt37VLj",
                "image_status": 1,
                "deduction_credit": 2,
                "from": 1,
                "buttons": [],
                "used_buttons": [],
                "upscaled_urls": [],
                "faceswap_quality": 2,
            }
        ),
    )

    job = client.create_by_button(
        "6508288416e5ba407d47d13f", "U2", webhook_url="https://app.test/hooks/akool"
    )

    assert sent_json(mocked.calls[0]) == {
        "_id": "6508288416e5ba407d47d13f",
        "button": "U2",
        "webhookUrl": "https://app.test/hooks/akool",
    }
    assert job.id == "6508292f16e5ba407d47d21b"
    assert job.parent_id == "6508288416e5ba407d47d13f"
    assert job.button == "U2"
    assert job.deduction_credit == 2


def test_create_by_button_without_webhook_sends_only_id_and_button(mocked, client):
    mocked.post(BUTTON_URL, json=ok({"_id": "c" * 24, "image_status": 1}))

    client.create_by_button(JOB_ID, "V1")

    assert sent_json(mocked.calls[0]) == {"_id": JOB_ID, "button": "V1"}


# --- auth ----------------------------------------------------------------------------------


def test_api_key_mode_sends_x_api_key_and_no_authorization(mocked, client):
    mocked.post(CREATE_URL, json=ok(job_record()))
    mocked.get(RESULT_URL, json=ok({"_id": JOB_ID, "image_status": 1}))

    client.create_image(prompt="a lake")
    client.get_result(JOB_ID)

    for call in mocked.calls:
        assert call.request.headers["x-api-key"] == API_KEY
        assert "Authorization" not in call.request.headers
        assert call.request.headers["User-Agent"] == "akool-web/0.1"


def test_every_request_uses_connect_and_read_timeouts(mocked):
    client = AkoolClient(BASE, API_KEY, connect_timeout=2, read_timeout=11, create_read_timeout=95)
    mocked.post(CREATE_URL, json=ok(job_record()))
    mocked.get(CREDIT_URL, json=ok({"credit": 5}))

    client.create_image(prompt="a lake")
    client.credit_info()

    # A create is never retried, so it waits longer for its answer than a read does.
    assert [call.request.req_kwargs["timeout"] for call in mocked.calls] == [(2, 95), (2, 11)]


def test_a_team_client_waits_two_minutes_for_a_create(settings):
    from generator.models import Team

    assert settings.AKOOL_CREATE_TIMEOUT_SECONDS >= 120
    assert settings.SUBMIT_LEASE_SECONDS > settings.AKOOL_CREATE_TIMEOUT_SECONDS
    settings.AKOOL_CREATE_TIMEOUT_SECONDS = 77
    client = Team(api_key="k" * 32).akool_client()
    assert client.create_timeout[1] == 77 and client.timeout[1] < 77


def test_base_url_with_trailing_slash_still_builds_clean_paths(mocked):
    client = AkoolClient(BASE + "/", API_KEY)
    mocked.get(CREDIT_URL, json=ok({"credit": 5}))

    client.credit_info()

    assert mocked.calls[0].request.url == CREDIT_URL


def test_a_shared_session_authorization_header_is_not_sent_in_api_key_mode(mocked):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer stale"
    client = AkoolClient(BASE, API_KEY, session=session)
    mocked.get(CREDIT_URL, json=ok({"credit": 5}))

    client.credit_info()

    assert "Authorization" not in mocked.calls[0].request.headers


def test_token_mode_needs_a_client_id():
    with pytest.raises(ValueError, match="client_id"):
        AkoolClient(BASE, API_KEY, use_token=True)


def test_get_token_posts_client_id_and_secret_without_auth_headers(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})

    assert token_client.get_token() == TOKEN

    call = mocked.calls[0]
    assert sent_json(call) == {"clientId": CLIENT_ID, "clientSecret": API_KEY}
    assert "x-api-key" not in call.request.headers
    assert "Authorization" not in call.request.headers


def test_token_mode_sends_only_the_bearer_token(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    mocked.post(CREATE_URL, json=ok(job_record()))

    token_client.create_image(prompt="a lake")

    create_call = mocked.calls[1]
    assert create_call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "x-api-key" not in create_call.request.headers


def test_token_is_fetched_once_and_shared_by_two_clients(mocked):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    mocked.get(CREDIT_URL, json=ok({"credit": 5}))
    first = AkoolClient(BASE, API_KEY, client_id=CLIENT_ID, use_token=True)
    second = AkoolClient(BASE, API_KEY, client_id=CLIENT_ID, use_token=True)

    first.credit_info()
    second.credit_info()

    assert [call.request.url for call in mocked.calls].count(TOKEN_URL) == 1


def test_clients_with_different_keys_do_not_share_a_token(mocked):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    mocked.get(CREDIT_URL, json=ok({"credit": 5}))

    AkoolClient(BASE, API_KEY, client_id=CLIENT_ID, use_token=True).credit_info()
    AkoolClient(BASE, "Other" + API_KEY[5:], client_id=CLIENT_ID, use_token=True).credit_info()

    assert [call.request.url for call in mocked.calls].count(TOKEN_URL) == 2


def test_token_is_refetched_once_when_akool_answers_1101(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": "old-token"})
    mocked.post(TOKEN_URL, json={"code": 1000, "token": "new-token"})
    mocked.get(CREDIT_URL, json=fail(1101, "token expired"))
    mocked.get(CREDIT_URL, json=ok({"credit": 7}))

    assert token_client.credit_info() == 7.0

    auth = [call.request.headers.get("Authorization") for call in mocked.calls]
    assert auth == [None, "Bearer old-token", None, "Bearer new-token"]


def test_second_1101_after_a_fresh_token_raises(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    mocked.get(CREDIT_URL, json=fail(1101))

    with pytest.raises(AkoolError) as caught:
        token_client.credit_info()

    assert caught.value.code == 1101
    assert caught.value.kind is ErrorKind.PERMANENT
    urls = [call.request.url for call in mocked.calls]
    assert urls == [TOKEN_URL, CREDIT_URL, TOKEN_URL, CREDIT_URL]


def test_create_is_sent_again_exactly_once_after_1101_with_a_fresh_token(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": "old-token"})
    mocked.post(TOKEN_URL, json={"code": 1000, "token": "new-token"})
    create_rejected = mocked.post(CREATE_URL, json=fail(1101))
    mocked.post(CREATE_URL, json=ok(job_record()))

    jobs = token_client.create_image(prompt="a lake")

    assert jobs[0].id == JOB_ID
    assert create_rejected.call_count == 1
    assert mocked.calls[-1].request.headers["Authorization"] == "Bearer new-token"


def test_create_with_two_1101_answers_is_sent_twice_and_raises(mocked, token_client):
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    create = mocked.post(CREATE_URL, json=fail(1101))

    with pytest.raises(AkoolError) as caught:
        token_client.create_image(prompt="a lake")

    assert caught.value.code == 1101
    assert create.call_count == 2


def test_1101_from_get_token_itself_is_not_asked_again(mocked, token_client):
    token = mocked.post(TOKEN_URL, json=fail(1101))
    create = mocked.post(CREATE_URL, json=ok(job_record()))

    with pytest.raises(AkoolError) as caught:
        token_client.create_image(prompt="a lake")

    assert caught.value.code == 1101
    assert token.call_count == 1
    assert create.call_count == 0


def test_1101_in_api_key_mode_is_raised_without_a_token_fetch(mocked, client):
    mocked.get(CREDIT_URL, json=fail(1101))

    with pytest.raises(AkoolError):
        client.credit_info()

    assert [call.request.url for call in mocked.calls] == [CREDIT_URL]


# --- error codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), sorted(DOCUMENTED_CODES.items()))
def test_every_documented_error_code_raises_with_its_kind_and_human_message(
    mocked, client, code, kind
):
    create = mocked.post(CREATE_URL, json=fail(code, "raw akool text"))

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    error = caught.value
    assert error.code == code
    assert error.kind is kind
    assert error.message == ERROR_MESSAGES[code]
    assert str(error) == ERROR_MESSAGES[code]
    assert error.detail == "raw akool text"
    assert error.http_status == 200
    assert create.call_count == 1  # creates are never retried, even on transient codes


def test_errors_survive_pickling_with_their_attributes():
    # Task queues pickle exceptions across processes.
    error = pickle.loads(pickle.dumps(DownloadError("gone", expired=True, http_status=404)))
    assert (str(error), error.expired, error.kind, error.http_status) == (
        "gone",
        True,
        ErrorKind.PERMANENT,
        404,
    )
    error = pickle.loads(pickle.dumps(AkoolError("busy", code=1005, kind=ErrorKind.TRANSIENT)))
    assert (error.code, error.kind) == (1005, ErrorKind.TRANSIENT)


def test_error_messages_cover_every_documented_code():
    assert set(ERROR_MESSAGES) >= set(DOCUMENTED_CODES)


def test_an_unknown_code_is_permanent_with_a_generic_message(mocked, client):
    mocked.get(CREDIT_URL, json=fail(1777, "moon is full"))

    with pytest.raises(AkoolError) as caught:
        client.credit_info()

    assert caught.value.code == 1777
    assert caught.value.kind is ErrorKind.PERMANENT
    assert str(caught.value) == "Akool returned error code 1777: moon is full"
    assert len(mocked.calls) == 1


def test_a_failure_code_wins_over_http_200_and_success_wins_over_http_500(mocked, client):
    mocked.get(CREDIT_URL, json=fail(1104), status=200)
    mocked.get(CREDIT_URL, json=ok({"credit": 3}), status=500)

    with pytest.raises(AkoolError) as caught:
        client.credit_info()
    assert caught.value.code == 1104

    assert client.credit_info() == 3.0


def test_an_error_envelope_on_http_401_is_classified_by_its_code(mocked, client):
    mocked.post(CREATE_URL, json=fail(1102), status=401)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.code == 1102
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.http_status == 401


# --- GET retries ---------------------------------------------------------------------------


def test_get_result_retries_a_502_without_json_then_succeeds(mocked, client):
    mocked.get(RESULT_URL, body="<html>Bad Gateway</html>", status=502)
    mocked.get(RESULT_URL, json=ok({"_id": JOB_ID, "image_status": 2}))

    result = client.get_result(JOB_ID)

    assert result.status == 2
    assert len(mocked.calls) == 2


def test_get_result_gives_up_after_get_retries_with_a_transient_error(mocked):
    client = AkoolClient(BASE, API_KEY, get_retries=2, backoff=0)
    mocked.get(RESULT_URL, body="", status=503)

    with pytest.raises(AkoolError) as caught:
        client.get_result(JOB_ID)

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.code is None
    assert caught.value.http_status == 503
    assert len(mocked.calls) == 3


def test_get_retries_a_429_and_transient_codes(mocked, client):
    mocked.get(CREDIT_URL, body="slow down", status=429)
    mocked.get(CREDIT_URL, json=fail(1005))
    mocked.get(CREDIT_URL, json=fail(2001))
    mocked.get(CREDIT_URL, json=ok({"credit": 12.5}))

    assert client.credit_info() == 12.5
    assert len(mocked.calls) == 4


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.ChunkedEncodingError("broken chunk"),
    ],
)
def test_get_retries_network_errors(mocked, client, exc):
    mocked.get(RESULT_URL, body=exc)
    mocked.get(RESULT_URL, json=ok({"_id": JOB_ID, "image_status": 3, "image": CDN_URL}))

    assert client.get_result(JOB_ID).image_url == CDN_URL
    assert len(mocked.calls) == 2


def test_get_does_not_retry_a_permanent_code(mocked, client):
    mocked.get(RESULT_URL, json=fail(1008))

    with pytest.raises(AkoolError) as caught:
        client.get_result("f" * 24)

    assert caught.value.code == 1008
    assert len(mocked.calls) == 1


def test_get_with_an_unreadable_success_answer_is_retried_then_transient(mocked, client):
    mocked.get(RESULT_URL, json=ok({"image_status": 3}))  # no _id

    with pytest.raises(AkoolError) as caught:
        client.get_result(JOB_ID)

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert len(mocked.calls) == 4


def test_get_backoff_doubles_between_retries(mocked, monkeypatch):
    sleeps = []
    monkeypatch.setattr(akool_client.time, "sleep", sleeps.append)
    client = AkoolClient(BASE, API_KEY, get_retries=3, backoff=0.5)
    mocked.get(CREDIT_URL, body="", status=500)

    with pytest.raises(AkoolError):
        client.credit_info()

    assert sleeps == [0.5, 1.0, 2.0]


# --- create: never retried, unknown outcomes -----------------------------------------------


def test_create_is_sent_once_and_unknown_on_http_500_without_json(mocked, client):
    create = mocked.post(CREATE_URL, body="Internal Server Error", status=500)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert caught.value.http_status == 500
    assert "may or may not have been created" in str(caught.value)
    assert create.call_count == 1


def test_create_is_unknown_when_http_200_body_is_not_json(mocked, client):
    create = mocked.post(CREATE_URL, body="<html>ok?</html>", status=200)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert create.call_count == 1


def test_create_is_unknown_when_http_429_body_is_not_json(mocked, client):
    mocked.post(CREATE_URL, body="Too Many Requests", status=429)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN


def test_create_with_a_4xx_json_body_that_is_not_an_envelope_is_permanent(mocked, client):
    mocked.post(CREATE_URL, json={"error": "payload too large"}, status=413)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.http_status == 413


def test_create_with_success_code_but_no_job_id_is_unknown(mocked, client):
    mocked.post(CREATE_URL, json=ok({"image_status": 1}))

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert caught.value.code == 1000


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError(
            ProtocolError(
                "Connection aborted.",
                RemoteDisconnected("Remote end closed connection without response"),
            )
        ),
        requests.exceptions.ConnectionError(
            ProtocolError("Connection aborted.", BrokenPipeError())
        ),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
        requests.exceptions.ConnectionError("cause unknown"),
    ],
    ids=["read-timeout", "remote-disconnected", "broken-pipe", "chunked-encoding", "bare"],
)
def test_create_is_sent_once_and_unknown_when_the_connection_fails_after_sending(
    mocked, client, exc
):
    create = mocked.post(CREATE_URL, body=exc)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert caught.value.code is None
    assert str(caught.value) == akool_client.MSG_MAYBE_CREATED
    assert create.call_count == 1


def test_create_by_button_is_sent_once_and_unknown_on_read_timeout(mocked, client):
    create = mocked.post(BUTTON_URL, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(AkoolError) as caught:
        client.create_by_button(JOB_ID, "U1")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert create.call_count == 1


def test_create_connect_timeout_is_transient_and_sent_once(mocked, client):
    create = mocked.post(CREATE_URL, body=requests.exceptions.ConnectTimeout("connect timeout"))

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "nothing was sent" in str(caught.value)
    assert create.call_count == 1


def test_create_connection_refused_is_transient(mocked, client):
    # What requests raises for a refused connect: ConnectionError(MaxRetryError(reason=...)).
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
    exc = requests.exceptions.ConnectionError(MaxRetryError(None, CREATE_URL, refused))
    create = mocked.post(CREATE_URL, body=exc)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert create.call_count == 1


def _ssl_error(cause):
    return requests.exceptions.SSLError(MaxRetryError(None, CREATE_URL, Urllib3SSLError(cause)))


def test_create_failing_certificate_verification_is_transient(mocked, client):
    # Verification fails in the TLS handshake, before the request is written.
    mocked.post(CREATE_URL, body=_ssl_error(ssl.SSLCertVerificationError("self-signed")))

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_create_with_another_ssl_error_is_unknown(mocked, client):
    mocked.post(CREATE_URL, body=_ssl_error(ssl.SSLError("bad record mac")))

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN


# --- create against real loopback sockets --------------------------------------------------


@pytest.fixture
def loopback_server():
    """A one-connection TCP server on 127.0.0.1 running `behaviour(conn)` in a thread."""
    servers = []

    def start(behaviour):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        done = threading.Event()

        def run():
            conn, _ = listener.accept()
            try:
                behaviour(conn, done)
            finally:
                conn.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        servers.append((listener, done, thread))
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener, done, thread in servers:
        done.set()
        thread.join(timeout=5)
        listener.close()


def _read_request(conn):
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_real_connection_refused_on_create_is_transient():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    client = AkoolClient(f"http://127.0.0.1:{port}", API_KEY)

    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_real_server_hanging_up_after_the_request_makes_create_unknown(loopback_server):
    requests_seen = []

    def hang_up(conn, done):
        requests_seen.append(_read_request(conn))

    base = loopback_server(hang_up)

    with pytest.raises(AkoolError) as caught:
        AkoolClient(base, API_KEY).create_image(prompt="a lake")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert len(requests_seen) == 1


def test_real_server_never_answering_makes_create_unknown(loopback_server):
    def stay_silent(conn, done):
        _read_request(conn)
        done.wait(10)

    base = loopback_server(stay_silent)

    with pytest.raises(AkoolError) as caught:
        AkoolClient(base, API_KEY, read_timeout=0.3, create_read_timeout=0.3).create_image(
            prompt="a lake"
        )

    assert caught.value.kind is ErrorKind.UNKNOWN


# --- results and credit --------------------------------------------------------------------


def test_get_result_reads_the_documented_completed_example(mocked, client):
    mocked.get(
        RESULT_URL,
        match=[matchers.query_param_matcher({"image_model_id": "662a10df4197b3af58532e89"})],
        json=ok(
            {
                "faceswap_quality": 2,
                "deduction_credit": 2,
                "buttons": ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"],
                "used_buttons": ["U2"],
                "upscaled_urls": [],
                "_id": "662a10df4197b3af58532e89",
                "create_time": 1714032863272,
                "uid": 378337,
                "type": 3,
                "image_status": 3,
                "image": CDN_URL,
            }
        ),
    )

    result = client.get_result("662a10df4197b3af58532e89")

    assert isinstance(result, ImageResult)
    assert result.id == "662a10df4197b3af58532e89"
    assert result.status == 3
    assert result.image_url == CDN_URL
    assert result.deduction_credit == 2
    assert result.used_buttons == ["U2"]
    assert result.available_buttons == ["U1", "U3", "U4", "V1", "V2", "V3", "V4"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"image": "https://cdn.test/a.png", "upscaled_urls": ["https://cdn.test/b.png"]}, "a"),
        ({"image": "", "upscaled_urls": ["https://cdn.test/b.png"]}, "b"),
        ({"upscaled_urls": [], "external_img": "https://cdn.test/c.png"}, "c"),
        ({"image": None, "upscaled_urls": None}, None),
    ],
    ids=["image", "upscaled-first", "external-img", "none"],
)
def test_result_url_comes_from_image_then_upscaled_then_external_img(
    mocked, client, fields, expected
):
    mocked.get(RESULT_URL, json=ok({"_id": JOB_ID, "image_status": 3, **fields}))

    result = client.get_result(JOB_ID)

    assert result.image_url == (None if expected is None else f"https://cdn.test/{expected}.png")


def test_a_queued_result_has_no_url_and_no_buttons(mocked, client):
    mocked.get(RESULT_URL, json=ok({"_id": JOB_ID, "image_status": 1}))

    result = client.get_result(JOB_ID)

    assert (result.status, result.image_url, result.buttons, result.available_buttons) == (
        1,
        None,
        [],
        [],
    )


def test_credit_info_returns_the_balance_as_a_float(mocked, client):
    mocked.get(CREDIT_URL, json=ok({"credit": 42}))

    credit = client.credit_info()

    assert credit == 42.0
    assert isinstance(credit, float)


# --- downloads -----------------------------------------------------------------------------


def test_download_streams_the_body_into_the_file_without_auth_headers(mocked, client):
    body = bytes(range(256)) * 1000
    mocked.get(CDN_URL, body=body, content_type="image/png")
    dest = io.BytesIO()

    written = client.download(CDN_URL, dest, max_bytes=1_000_000, deadline=30)

    assert written == len(body)
    assert dest.getvalue() == body
    headers = mocked.calls[0].request.headers
    assert "x-api-key" not in headers
    assert "Authorization" not in headers
    assert mocked.calls[0].request.req_kwargs["stream"] is True


def test_download_refuses_a_declared_content_length_over_the_limit(mocked, client):
    mocked.get(CDN_URL, body=b"x" * 2000, auto_calculate_content_length=True)
    dest = io.BytesIO()

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, dest, max_bytes=1000, deadline=30)

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.expired is False
    assert "too large" in str(caught.value)
    assert dest.getvalue() == b""


def test_download_stops_a_body_without_content_length_at_the_limit(mocked, client):
    mocked.get(CDN_URL, body=b"x" * 300_000)
    assert "Content-Length" not in requests.get(CDN_URL, stream=True).headers
    dest = io.BytesIO()

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, dest, max_bytes=100_000, deadline=30)

    assert "too large" in str(caught.value)
    assert len(dest.getvalue()) <= 100_000


def test_download_of_exactly_max_bytes_is_fine(mocked, client):
    mocked.get(CDN_URL, body=b"x" * 1000, auto_calculate_content_length=True)

    assert client.download(CDN_URL, io.BytesIO(), max_bytes=1000, deadline=30) == 1000


@pytest.mark.parametrize("status", [403, 404, 410])
def test_download_of_a_gone_cdn_url_is_expired_and_permanent(mocked, client, status):
    mocked.get(CDN_URL, body="<Error>AccessDenied</Error>", status=status)

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, io.BytesIO(), max_bytes=1000, deadline=30)

    assert caught.value.expired is True
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.http_status == status


@pytest.mark.parametrize("status", [500, 503, 429])
def test_download_server_errors_are_transient(mocked, client, status):
    mocked.get(CDN_URL, body="busy", status=status)

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, io.BytesIO(), max_bytes=1000, deadline=30)

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.expired is False


def test_download_network_errors_are_transient(mocked, client):
    mocked.get(CDN_URL, body=requests.exceptions.ConnectionError("reset by peer"))

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, io.BytesIO(), max_bytes=1000, deadline=30)

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_download_past_its_deadline_is_transient(mocked, client, monkeypatch):
    # A fake clock that advances 10 s per look: no real waiting, no assertion on time.
    ticks = iter(range(0, 10_000, 10))
    monkeypatch.setattr(akool_client.time, "monotonic", lambda: next(ticks))
    mocked.get(CDN_URL, body=b"x" * 300_000)

    with pytest.raises(DownloadError) as caught:
        client.download(CDN_URL, io.BytesIO(), max_bytes=1_000_000, deadline=25)

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "took too long" in str(caught.value)


def test_download_refuses_non_http_urls(client):
    with pytest.raises(DownloadError) as caught:
        client.download("file:///etc/passwd", io.BytesIO(), max_bytes=1000, deadline=30)

    assert caught.value.kind is ErrorKind.PERMANENT


def test_download_of_a_truncated_body_is_transient(loopback_server, client):
    def short_body(conn, done):
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)

    base = loopback_server(short_body)

    with pytest.raises(DownloadError) as caught:
        client.download(base + "/img.png", io.BytesIO(), max_bytes=10_000, deadline=30)

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_download_from_a_real_server_sending_chunks_writes_every_byte(loopback_server, client):
    def chunked(conn, done):
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(5):
            conn.sendall(b"4\r\nabcd\r\n")
        conn.sendall(b"0\r\n\r\n")

    base = loopback_server(chunked)
    dest = io.BytesIO()

    assert client.download(base + "/img.png", dest, max_bytes=10_000, deadline=30) == 20
    assert dest.getvalue() == b"abcd" * 5


# --- secrecy -------------------------------------------------------------------------------


def test_repr_of_the_client_holds_no_secrets(token_client):
    text = repr(token_client) + str(token_client)

    assert API_KEY not in text
    assert "akool.test" in text


def test_secrets_never_appear_in_errors_or_logs(mocked, token_client, caplog):
    caplog.set_level(logging.DEBUG)
    mocked.post(TOKEN_URL, json={"code": 1000, "token": TOKEN})
    # A hostile or careless server echoing our credentials back in its msg.
    mocked.get(CREDIT_URL, json=fail(1777, f"bad key {API_KEY} token {TOKEN}"))
    mocked.post(CREATE_URL, body=requests.exceptions.ReadTimeout(f"timeout {API_KEY}"))

    errors = []
    for call in (token_client.credit_info, lambda: token_client.create_image(prompt="x")):
        with pytest.raises(AkoolError) as caught:
            call()
        errors.append(caught.value)

    for error in errors:
        for text in (str(error), repr(error), error.message, error.detail):
            assert API_KEY not in text
            assert TOKEN not in text
    assert "***" in errors[0].detail
    assert API_KEY not in caplog.text
    assert TOKEN not in caplog.text
