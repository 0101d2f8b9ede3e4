"""The real client against the sandbox over real HTTP on loopback: do they agree on the protocol?

Each test runs the sandbox in pytest-django's live server with short job timings (queued
0.1 s, generating 0.3 s), so a job is done about half a second after it is created.
"""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from PIL import Image

from generator.akool.client import AkoolError, DownloadError, ErrorKind
from generator.akool.webhook import verify_and_decrypt
from generator.sandbox import faults, webhooks
from generator.sandbox.accounts import provision_account, revoke_tokens
from generator.sandbox.models import SandboxAccount, SandboxJob, SandboxRequest

pytestmark = pytest.mark.django_db(transaction=True)


def wait_done(client, job_id, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = client.get_result(job_id)
        if result.status in (3, 4):
            return result
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still not finished after {timeout}s")


def creates():
    return SandboxRequest.objects.filter(kind="create").count()


# --- the happy path --------------------------------------------------------------------------


def test_create_poll_and_download_an_image(sandbox_client, tmp_path):
    [job] = sandbox_client.create_image(prompt="a harbour", scale="16:9", resolution="1080p")
    assert len(job.id) == 24 and job.status == 1 and job.deduction_credit == 1
    assert job.model_name == "wavespeed-ai/flux-krea-dev-lora" and job.sub_type == 40001
    result = wait_done(sandbox_client, job.id)
    assert result.status == 3 and result.image_url
    assert result.upscaled_urls == [result.image_url]
    assert result.available_buttons == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
    target = tmp_path / "out.png"
    with target.open("wb") as dest:
        written = sandbox_client.download(result.image_url, dest, max_bytes=50_000_000, deadline=10)
    assert written == target.stat().st_size
    assert Image.open(target).size == (1920, 1080)


def test_a_batch_comes_back_as_several_jobs(sandbox_client):
    jobs = sandbox_client.create_image(prompt="tulips", batch_quantity=3, resolution="1080p")
    assert len({job.id for job in jobs}) == 3
    assert all(wait_done(sandbox_client, job.id).status == 3 for job in jobs)


def test_credit_goes_down_by_what_the_jobs_cost(sandbox_client):
    before = sandbox_client.credit_info()
    assert before == 10_000
    sandbox_client.create_image(prompt="x", resolution="4k", batch_quantity=2)
    assert sandbox_client.credit_info() == before - 4


def test_running_out_of_credit_is_a_permanent_1006(sandbox_client, sandbox_account):
    SandboxAccount.objects.filter(pk=sandbox_account.pk).update(credit=1)
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt="x", resolution="4k")
    assert (caught.value.code, caught.value.kind) == (1006, ErrorKind.PERMANENT)
    assert not SandboxJob.objects.exists()


def test_buttons_make_new_jobs_once(sandbox_client):
    [job] = sandbox_client.create_image(prompt="a bridge", resolution="1080p")
    wait_done(sandbox_client, job.id)
    child = sandbox_client.create_by_button(job.id, "U3")
    assert (child.parent_id, child.button, child.status) == (job.id, "U3", 1)
    assert child.deduction_credit == 2
    parent = sandbox_client.get_result(job.id)
    assert parent.used_buttons == ["U3"] and "U3" not in parent.available_buttons
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_by_button(job.id, "U3")
    assert (caught.value.code, caught.value.kind) == (1011, ErrorKind.PERMANENT)
    upscale = wait_done(sandbox_client, child.id)
    assert upscale.status == 3 and upscale.buttons == [] and upscale.upscaled_urls == []
    assert upscale.image_url


def test_a_button_on_an_unfinished_job_is_1010(sandbox_client, settings):
    settings.SANDBOX_QUEUE_SECONDS = 30
    [job] = sandbox_client.create_image(prompt="x")
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_by_button(job.id, "V1")
    assert caught.value.code == 1010


def test_an_unknown_job_is_1008(sandbox_client):
    with pytest.raises(AkoolError) as caught:
        sandbox_client.get_result("0" * 24)
    assert (caught.value.code, caught.value.kind) == (1008, ErrorKind.PERMANENT)


def test_a_failed_job_reports_status_4(sandbox_client):
    [job] = sandbox_client.create_image(prompt="will not work [fail]")
    result = wait_done(sandbox_client, job.id)
    assert result.status == 4 and result.image_url is None


def test_image_to_image_fetches_the_source_over_loopback(sandbox_client, tmp_path):
    [first] = sandbox_client.create_image(prompt="wide", scale="16:9", resolution="1080p")
    source = wait_done(sandbox_client, first.id).image_url
    [job] = sandbox_client.create_image(
        prompt="the same, at night", source_image=source, scale="Original", similar=0.8
    )
    assert job.sub_type == 40002 and job.model_name == "wavespeed-ai/flux-kontext-dev"
    url = wait_done(sandbox_client, job.id).image_url
    with (tmp_path / "i2i.png").open("wb") as dest:
        sandbox_client.download(url, dest, max_bytes=100_000_000, deadline=10)
    assert Image.open(tmp_path / "i2i.png").size == (3840, 2160)


def test_a_source_that_cannot_be_fetched_is_1003(sandbox_client, sandbox_url):
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt="x", source_image=sandbox_url + "/nothing-here.png")
    assert (caught.value.code, caught.value.kind) == (1003, ErrorKind.PERMANENT)
    assert "could not be fetched" in caught.value.detail


# --- errors ----------------------------------------------------------------------------------

# docs/akool-api.md §6.1: the image pages' codes plus global ones that may surface here.
DOCUMENTED = sorted(faults.ERROR_MESSAGES)


@pytest.mark.parametrize("code", DOCUMENTED)
def test_every_documented_error_code_reaches_the_client(sandbox_client, code):
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt=f"x [error:{code}]")
    error = caught.value
    assert error.code == code and error.http_status == 200
    transient = code in (1005, 1108, 2001)
    assert error.kind == (ErrorKind.TRANSIENT if transient else ErrorKind.PERMANENT)
    assert not SandboxJob.objects.exists()
    assert creates() == 1  # never resent, not even the transient ones


def test_a_wrong_api_key_is_1101(sandbox_client_factory):
    client = sandbox_client_factory("x" * 32, get_retries=0)
    with pytest.raises(AkoolError) as caught:
        client.credit_info()
    assert (caught.value.code, caught.value.kind) == (1101, ErrorKind.PERMANENT)


def test_a_banned_account_is_1200(sandbox_client, sandbox_account):
    SandboxAccount.objects.filter(pk=sandbox_account.pk).update(banned=True)
    with pytest.raises(AkoolError) as caught:
        sandbox_client.credit_info()
    assert caught.value.code == 1200


# --- token auth ------------------------------------------------------------------------------


def test_token_auth_is_cached_and_refreshed_once_after_revocation(
    sandbox_client_factory, sandbox_account
):
    client = sandbox_client_factory(
        sandbox_account.api_key,
        client_id=sandbox_account.client_id,
        use_token=True,
        get_retries=0,
    )
    [job] = client.create_image(prompt="x")
    client.get_result(job.id)
    client.credit_info()
    assert SandboxRequest.objects.filter(kind="token").count() == 1
    revoke_tokens(sandbox_account)
    assert client.credit_info() == 10_000 - 2
    assert SandboxRequest.objects.filter(kind="token").count() == 2
    credit_calls = SandboxRequest.objects.filter(kind="credit").order_by("id")
    assert [row.code for row in credit_calls] == [1000, 1101, 1000]


def test_get_token_with_a_wrong_secret_is_1101(sandbox_client_factory, sandbox_account):
    client = sandbox_client_factory(
        "y" * 32,
        client_id=sandbox_account.client_id,
        use_token=True,
        get_retries=0,
    )
    with pytest.raises(AkoolError) as caught:
        client.get_token()
    assert caught.value.code == 1101


# --- unknown outcomes and transient failures -------------------------------------------------


def test_a_dropped_connection_is_an_unknown_outcome_and_the_job_exists(sandbox_client):
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt="lost answer [drop]", resolution="1080p")
    assert caught.value.kind == ErrorKind.UNKNOWN
    assert creates() == 1
    assert SandboxRequest.objects.get(kind="create").outcome == "dropped"
    assert SandboxJob.objects.count() == 1
    assert SandboxAccount.objects.get().credit == 10_000 - 1


def test_a_slow_answer_past_the_create_timeout_is_an_unknown_outcome(
    sandbox_client_factory, sandbox_account
):
    client = sandbox_client_factory(sandbox_account.api_key, create_read_timeout=0.2, get_retries=0)
    with pytest.raises(AkoolError) as caught:
        client.create_image(prompt="sluggish [slow:0.6]")
    assert caught.value.kind == ErrorKind.UNKNOWN
    assert creates() == 1
    assert SandboxJob.objects.count() == 1
    # Let the server thread finish its late answer while the test database is still open.
    time.sleep(0.6)


def test_a_gateway_503_on_create_creates_nothing(sandbox_client):
    with pytest.raises(AkoolError) as caught:
        sandbox_client.create_image(prompt="x [http:503]")
    # The client cannot tell a gateway page from one sent after the job was made, so it calls
    # a 5xx on a create "unknown" (a read's 5xx is transient, below); the sandbox, like a
    # real gateway, made nothing.
    assert caught.value.http_status == 503
    assert caught.value.kind == ErrorKind.UNKNOWN
    assert creates() == 1
    assert not SandboxJob.objects.exists()


def test_a_503_on_a_read_is_transient_and_retried(sandbox_client, monkeypatch):
    [job] = sandbox_client.create_image(prompt="x")
    failures = iter([faults.Fault("http", 503), faults.Fault("code", 2001)])
    monkeypatch.setattr(faults, "random_fault", lambda kind: next(failures, None))
    assert sandbox_client.get_result(job.id).id == job.id
    outcomes = SandboxRequest.objects.filter(kind="result").order_by("id")
    assert [row.outcome for row in outcomes] == [
        "http 503 (random)",
        "error 2001 (random)",
        "ok",
    ]


def test_reads_give_up_with_a_transient_error(sandbox_client, monkeypatch):
    monkeypatch.setattr(faults, "random_fault", lambda kind: faults.Fault("http", 503))
    with pytest.raises(AkoolError) as caught:
        sandbox_client.credit_info()
    assert (caught.value.kind, caught.value.http_status) == (ErrorKind.TRANSIENT, 503)
    assert SandboxRequest.objects.filter(kind="credit").count() == 3  # 1 + get_retries


# --- downloads -------------------------------------------------------------------------------


def test_a_download_over_the_size_cap_fails(sandbox_client, tmp_path):
    [job] = sandbox_client.create_image(prompt="x", resolution="1080p")
    url = wait_done(sandbox_client, job.id).image_url
    with (tmp_path / "big.png").open("wb") as dest, pytest.raises(DownloadError) as caught:
        sandbox_client.download(url, dest, max_bytes=10_000, deadline=10)
    assert not caught.value.expired


def test_an_expired_url_fails_as_expired(sandbox_client, tmp_path):
    [job] = sandbox_client.create_image(prompt="x", resolution="1080p")
    wait_done(sandbox_client, job.id)
    # Time-travel the job 8 days back: its (7-day) signed URL is now in the past.
    past = timezone.now() - timedelta(days=8)
    SandboxJob.objects.filter(job_id=job.id).update(
        created_at=past, started_at=past, finished_at=past
    )
    url = sandbox_client.get_result(job.id).image_url
    with (tmp_path / "old.png").open("wb") as dest, pytest.raises(DownloadError) as caught:
        sandbox_client.download(url, dest, max_bytes=10_000_000, deadline=10)
    assert caught.value.expired and caught.value.http_status == 403


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
def receiver(sandbox_account):
    """A webhook receiver on loopback that verifies each call as the app would."""
    received, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if statuses:
                code = statuses.pop(0)
            else:
                payload = verify_and_decrypt(
                    body, sandbox_account.client_id, sandbox_account.api_key
                )
                received.append(payload)
                if server.on_receive:
                    server.on_receive(payload)
                code = 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.received = received
    server.fail_next = statuses
    server.on_receive = None
    yield server
    server.shutdown()
    server.server_close()


def test_webhooks_report_processing_then_the_result(sandbox_client, receiver):
    [job] = sandbox_client.create_image(prompt="x", resolution="1080p", webhook_url=receiver.url)
    assert webhooks.wait_idle(10)
    assert [p["status"] for p in receiver.received] == [2, 3]
    final = receiver.received[1]
    assert final["_id"] == job.id and final["type"] == "image"
    assert final["deduction_credit"] == 1
    assert final["url"] == sandbox_client.get_result(job.id).image_url
    rows = SandboxRequest.objects.filter(kind="webhook")
    assert [row.outcome for row in rows.order_by("id")] == ["delivered", "delivered"]
    assert json.dumps(list(rows.values("body"))).count(sandbox_client._api_key) == 0


def test_jobs_are_called_back_side_by_side_and_each_job_in_order(sandbox_client, receiver):
    # The receiver holds the first callback to arrive until the other job's result has come in:
    # delivered one at a time, that result would wait behind the held call and the hold would
    # time out (shorter than the sandbox's read timeout, so the held call is never resent).
    lock, first, other_done, held = threading.Lock(), [], threading.Event(), []

    def on_receive(payload):
        with lock:
            is_first = not first
            if is_first:
                first.append(payload["_id"])
        if is_first:
            held.append(other_done.wait(webhooks.TIMEOUT[1] - 1))
        elif payload["_id"] != first[0] and payload["status"] == 3:
            other_done.set()

    receiver.on_receive = on_receive
    jobs = [
        *sandbox_client.create_image(prompt="a", resolution="1080p", webhook_url=receiver.url),
        *sandbox_client.create_image(prompt="b", resolution="1080p", webhook_url=receiver.url),
    ]
    assert webhooks.wait_idle(20)
    assert held == [True]
    for job in jobs:
        assert [p["status"] for p in receiver.received if p["_id"] == job.id] == [2, 3]


def test_a_failed_job_calls_back_with_status_4(sandbox_client, receiver):
    sandbox_client.create_image(prompt="[fail]", webhook_url=receiver.url)
    assert webhooks.wait_idle(10)
    assert [p["status"] for p in receiver.received] == [2, 4]
    assert "url" not in receiver.received[1]


def test_webhooks_are_retried_until_answered_200(sandbox_client, receiver):
    receiver.fail_next.extend([500, 503])
    sandbox_client.create_image(prompt="x", webhook_url=receiver.url)
    assert webhooks.wait_idle(10)
    assert sorted(p["status"] for p in receiver.received) == [2, 3]
    outcomes = list(
        SandboxRequest.objects.filter(kind="webhook")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes.count("delivered") == 2
    assert "http 500, retrying" in outcomes and "http 503, retrying" in outcomes


def test_a_button_job_calls_back_too(sandbox_client, receiver):
    [job] = sandbox_client.create_image(prompt="x", resolution="1080p")
    wait_done(sandbox_client, job.id)
    child = sandbox_client.create_by_button(job.id, "V2", webhook_url=receiver.url)
    assert webhooks.wait_idle(10)
    assert [(p["_id"], p["status"]) for p in receiver.received] == [(child.id, 2), (child.id, 3)]


def test_another_account_cannot_read_or_use_a_job(sandbox_client, sandbox_client_factory):
    [job] = sandbox_client.create_image(prompt="x")
    stranger = sandbox_client_factory(provision_account().api_key, get_retries=0)
    with pytest.raises(AkoolError) as caught:
        stranger.get_result(job.id)
    assert caught.value.code == 1009
