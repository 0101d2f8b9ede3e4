"""The Akool sandbox's views, through Django's test client (protocol: docs/akool-api.md)."""

import io
import json
import re
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from generator.sandbox import faults, webhooks
from generator.sandbox.accounts import provision_account, revoke_tokens
from generator.sandbox.models import SandboxAccount, SandboxJob, SandboxRequest

API = "/sandbox/akool/api/open"
CREATE = f"{API}/v4/content/image/createBySourcePrompt"
CREATE_V3 = f"{API}/v3/content/image/createbyprompt"
BUTTON = f"{API}/v3/content/image/createbybutton"
RESULT = f"{API}/v3/content/image/infobymodelid"
CREDIT = f"{API}/v3/faceswap/quota/info"
TOKEN = f"{API}/v3/getToken"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_settings(settings, sandbox_cache):
    settings.SANDBOX_QUEUE_SECONDS = 0
    settings.SANDBOX_GENERATION_SECONDS = 0
    settings.SANDBOX_START_CREDIT = 100
    settings.SANDBOX_FAULT_RATE = 0.0
    # Django's test client has no socket to cut, so [drop] falls back to sleeping.
    settings.SANDBOX_DROP_SLEEP_SECONDS = 0


@pytest.fixture
def account():
    return provision_account()


@pytest.fixture
def api(client, account):
    """Call the sandbox as `account` (x-api-key), or with the headers given."""

    class Api:
        def post(self, url, body, headers=None):
            headers = {"x-api-key": account.api_key} if headers is None else headers
            raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
            return client.post(url, raw, content_type="application/json", headers=headers)

        def get(self, url, params=None, headers=None):
            headers = {"x-api-key": account.api_key} if headers is None else headers
            return client.get(url, params or {}, headers=headers)

        def create(self, **body):
            body.setdefault("prompt", "a lighthouse at dusk")
            return self.post(CREATE, body).json()

        def result(self, job_id, headers=None):
            return self.get(RESULT, {"image_model_id": job_id}, headers=headers).json()

        def button(self, job_id, button, **extra):
            return self.post(BUTTON, {"_id": job_id, "button": button, **extra}).json()

    return Api()


def make_job(api, **body):
    answer = api.create(**body)
    assert answer["code"] == 1000, answer
    return answer["data"]["_id"]


def set_clock(job_id, *, started, finished):
    """Time-travel: move a job's fixed timeline relative to now (seconds, negative = past)."""
    now = timezone.now()
    SandboxJob.objects.filter(job_id=job_id).update(
        created_at=now + timedelta(seconds=min(started, 0) - 1),
        started_at=now + timedelta(seconds=started),
        finished_at=now + timedelta(seconds=finished),
    )


def png_size(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    data = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(data)
    return Image.open(io.BytesIO(data)).size, len(data)


@pytest.fixture
def source_server(web_server, public_loopback):
    """A web server standing in for a public site, with one 300x200 PNG and a text file."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 40, 90)).save(buffer, format="PNG")
    return web_server(
        {
            "/photo.png": (200, {"Content-Type": "image/png"}, buffer.getvalue()),
            "/notes.txt": (200, {"Content-Type": "text/plain"}, b"hi"),
        }
    )


# --- accounts and auth -----------------------------------------------------------------------


def test_provisioned_credentials_look_like_akool_ones(account):
    assert re.fullmatch(r"AK[A-Za-z0-9+/]{20}=", account.client_id)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", account.api_key)
    assert account.credit == 100
    assert provision_account(credit=7).credit == 7


def test_a_call_without_credentials_answers_1102_with_http_200(api):
    response = api.get(CREDIT, headers={})
    assert response.status_code == 200
    assert response.json()["code"] == 1102


def test_an_unknown_api_key_answers_1101(api):
    assert api.get(CREDIT, headers={"x-api-key": "x" * 32}).json()["code"] == 1101


def test_the_client_id_is_not_an_api_key(api, account):
    assert api.get(CREDIT, headers={"x-api-key": account.client_id}).json()["code"] == 1101


def test_the_api_key_authenticates(api):
    answer = api.get(CREDIT).json()
    assert answer == {"code": 1000, "msg": "OK", "data": {"credit": 100}}


def test_get_token_answers_a_top_level_token_and_reuses_it(api, account):
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    first = api.post(TOKEN, body, headers={}).json()
    assert set(first) == {"code", "token"}
    assert first["code"] == 1000
    assert api.post(TOKEN, body, headers={}).json()["token"] == first["token"]
    headers = {"Authorization": f"Bearer {first['token']}"}
    assert api.get(CREDIT, headers=headers).json()["code"] == 1000


@pytest.mark.parametrize(
    "body, code",
    [
        ({}, 1102),
        ({"clientId": "AKnobody", "clientSecret": "x" * 32}, 1101),
        ({"clientSecret": "x" * 32}, 1102),
    ],
)
def test_get_token_refuses_bad_credentials(api, body, code):
    assert api.post(TOKEN, body, headers={}).json()["code"] == code


def test_get_token_needs_the_secret_not_just_the_client_id(api, account):
    body = {"clientId": account.client_id, "clientSecret": "y" * 32}
    assert api.post(TOKEN, body, headers={}).json()["code"] == 1101


def test_authorization_wins_over_a_valid_api_key(api, account):
    # Akool's rule: a stale bearer token next to a good key fails.
    headers = {"Authorization": "Bearer stale", "x-api-key": account.api_key}
    assert api.get(CREDIT, headers=headers).json()["code"] == 1101


def test_a_good_token_is_used_even_with_a_bad_api_key(api, account):
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    token = api.post(TOKEN, body, headers={}).json()["token"]
    headers = {"Authorization": f"Bearer {token}", "x-api-key": "wrong"}
    assert api.get(CREDIT, headers=headers).json()["code"] == 1000


def test_a_revoked_token_answers_1101_and_a_new_one_is_issued(api, account):
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    token = api.post(TOKEN, body, headers={}).json()["token"]
    revoke_tokens(account)
    assert api.get(CREDIT, headers={"Authorization": f"Bearer {token}"}).json()["code"] == 1101
    fresh = api.post(TOKEN, body, headers={}).json()["token"]
    assert fresh != token
    assert api.get(CREDIT, headers={"Authorization": f"Bearer {fresh}"}).json()["code"] == 1000


def test_a_non_bearer_authorization_answers_1101(api, account):
    headers = {"Authorization": f"Basic {account.api_key}"}
    assert api.get(CREDIT, headers=headers).json()["code"] == 1101


def test_a_banned_account_answers_1200_everywhere(api, account):
    job_id = make_job(api)
    SandboxAccount.objects.filter(pk=account.pk).update(banned=True)
    assert api.get(CREDIT).json()["code"] == 1200
    assert api.create()["code"] == 1200
    assert api.result(job_id)["code"] == 1200
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    assert api.post(TOKEN, body, headers={}).json()["code"] == 1200


def test_wrong_methods_are_refused(api):
    assert api.get(CREATE).status_code == 405
    assert api.post(CREDIT, {}).status_code == 405


# --- create: validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prompt": ""},
        {"prompt": "   "},
        {"prompt": 42},
        {"prompt": "x", "scale": "5:4"},
        {"prompt": "x", "scale": "Original"},
        {"prompt": "x", "resolution": "8k"},
        {"prompt": "x", "resolution": "4K"},
        {"prompt": "x", "batch_quantity": 0},
        {"prompt": "x", "batch_quantity": 5},
        {"prompt": "x", "batch_quantity": "2"},
        {"prompt": "x", "batch_quantity": 1.5},
        {"prompt": "x", "batch_quantity": True},
        {"prompt": "x", "similar": 1.5},
        {"prompt": "x", "similar": -0.1},
        {"prompt": "x", "similar": "0.5"},
        {"prompt": "x", "model_name": "midjourney"},
        {"prompt": "x", "model_name": "wavespeed-ai/flux-kontext-dev"},
        {"prompt": "x", "source_images": "http://127.0.0.1/a.png"},
        {"prompt": "x", "source_images": ["ftp://127.0.0.1/a.png"]},
        {"prompt": "x", "source_images": [42]},
        {"prompt": "x", "negative_prompt": ["dogs"]},
        {"prompt": "x", "webhookurl": "not a url"},
    ],
)
def test_invalid_create_bodies_answer_1003_and_create_nothing(api, body):
    answer = api.post(CREATE, body).json()
    assert answer["code"] == 1003, answer
    assert answer["msg"]
    assert not SandboxJob.objects.exists()
    assert SandboxAccount.objects.get().credit == 100


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"prompt"'])
def test_a_body_that_is_not_a_json_object_answers_1003(api, raw):
    assert api.post(CREATE, raw).json()["code"] == 1003


def test_an_unreachable_source_image_answers_1003(api, source_server):
    answer = api.create(source_images=[f"{source_server}/missing.png"])
    assert answer["code"] == 1003
    assert "could not be fetched" in answer["msg"]


def test_a_source_that_is_not_an_image_answers_1003(api, source_server):
    answer = api.create(source_images=[f"{source_server}/notes.txt"])
    assert answer["code"] == 1003
    assert "not an image" in answer["msg"]


def test_a_closed_port_source_answers_1003(api):
    answer = api.create(source_images=["http://127.0.0.1:9/photo.png"])
    assert answer["code"] == 1003


def test_a_loopback_source_is_refused_and_never_fetched(api, web_server):
    inside = web_server({"/secret.png": (200, {"Content-Type": "image/png"}, b"internal")})
    answer = api.create(source_images=[f"{inside}/secret.png"])
    assert answer["code"] == 1003
    assert "private or local address" in answer["msg"]
    assert inside.requests == []
    assert not SandboxJob.objects.exists()


def test_a_redirect_to_a_loopback_source_is_refused(api, web_server, public_loopback):
    inside = web_server({"/secret.png": (200, {"Content-Type": "image/png"}, b"x")}, "127.0.0.2")
    outside = web_server({"/go": (302, {"Location": f"{inside}/secret.png"}, b"")})
    answer = api.create(source_images=[f"{outside}/go"])
    assert answer["code"] == 1003
    assert "private or local address" in answer["msg"]
    assert outside.requests and inside.requests == []


def test_a_redirect_from_a_link_of_the_app_is_not_followed(api, web_server, settings):
    # The app's own address is trusted only for its signed image links, fetched as they are.
    inside = web_server({"/secret.png": (200, {"Content-Type": "image/png"}, b"x")}, "127.0.0.2")
    app = web_server({"/source/abc/": (302, {"Location": f"{inside}/secret.png"}, b"")})
    settings.AKOOL_SANDBOX_URL = f"{app}/sandbox/akool"
    answer = api.create(source_images=[f"{app}/source/abc/"])
    assert answer["code"] == 1003
    assert app.requests and inside.requests == []


def test_other_paths_of_the_app_are_not_fetched_as_sources(api, web_server, settings):
    app = web_server({"/admin/": (200, {"Content-Type": "image/png"}, b"x")})
    settings.AKOOL_SANDBOX_URL = f"{app}/sandbox/akool"
    answer = api.create(source_images=[f"{app}/admin/"])
    assert answer["code"] == 1003
    assert app.requests == []


def test_camel_case_webhook_url_is_ignored_on_v4(api):
    job_id = make_job(api, webhookUrl="http://127.0.0.1:9/hook")
    assert SandboxJob.objects.get(job_id=job_id).webhook_url == ""


# --- create: answers -------------------------------------------------------------------------


def test_a_single_image_answers_one_full_object(api):
    answer = api.create(prompt="a red fox")
    assert answer["code"] == 1000 and answer["msg"] == "OK"
    data = answer["data"]
    assert isinstance(data, dict)
    assert re.fullmatch(r"[0-9a-f]{24}", data["_id"])
    assert len(str(data["create_time"])) == 13
    assert data["image_status"] == 1
    assert data["deduction_credit"] == 2  # 4k by default
    assert data["model_name"] == "wavespeed-ai/flux-krea-dev-lora"
    assert (data["type"], data["from"], data["sub_type"]) == (4, 4, 40001)
    assert data["prompt"] == data["origin_prompt"] == "a red fox"
    assert data["source_image"] == ""
    assert data["provider"] == "wavespeed-ai"
    assert data["file_name"] == f"ImageGenerator_{data['create_time']}.png"
    job = SandboxJob.objects.get(job_id=data["_id"])
    assert (job.width, job.height) == (3840, 3840)


def test_a_batch_answers_an_array_of_slim_records(api):
    data = api.create(batch_quantity=3, resolution="1080p")["data"]
    assert isinstance(data, list) and len(data) == 3
    assert len({record["_id"] for record in data}) == 3
    assert all(record["image_status"] == 1 and record["deduction_credit"] == 1 for record in data)
    assert all("origin_prompt" not in record for record in data)
    assert SandboxAccount.objects.get().credit == 97


def test_image_to_image_uses_the_source_and_its_aspect_for_original(api, source_server, client):
    url = f"{source_server}/photo.png"
    data = api.create(source_images=[url, "http://127.0.0.1:9/ignored.png"], scale="Original")[
        "data"
    ]
    assert data["sub_type"] == 40002
    assert data["model_name"] == "wavespeed-ai/flux-kontext-dev"
    assert data["source_image"] == url
    result = api.result(data["_id"])["data"]
    assert png_size(client, result["image"])[0] == (3840, 2560)


def test_v3_create_by_prompt_answers_its_own_shape(api):
    data = api.post(CREATE_V3, {"prompt": "x", "webhookUrl": ""}).json()["data"]
    assert (data["from"], data["buttons"], data["used_buttons"]) == (1, [], [])
    assert data["upscaled_urls"] == [] and data["faceswap_quality"] == 2
    assert api.result(data["_id"])["data"]["image_status"] == 3


# --- the clock -------------------------------------------------------------------------------


def test_a_job_is_queued_then_processing_then_completed(api, settings):
    settings.SANDBOX_QUEUE_SECONDS = 60
    settings.SANDBOX_GENERATION_SECONDS = 60
    job_id = make_job(api)
    queued = api.result(job_id)["data"]
    assert queued["image_status"] == 1
    assert (queued["image"], queued["buttons"], queued["upscaled_urls"]) == ("", [], [])
    set_clock(job_id, started=-1, finished=60)
    assert api.result(job_id)["data"]["image_status"] == 2
    set_clock(job_id, started=-2, finished=-1)
    done = api.result(job_id)["data"]
    assert done["image_status"] == 3
    assert done["image"].startswith("http://testserver/sandbox/akool/cdn/")
    assert done["upscaled_urls"] == [done["image"]]
    assert done["buttons"] == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
    assert done["used_buttons"] == []
    assert done["deduction_credit"] == 2 and done["faceswap_quality"] == 2


def test_fail_marker_ends_with_status_4_and_no_image(api):
    job_id = make_job(api, prompt="doomed [fail]")
    data = api.result(job_id)["data"]
    assert data["image_status"] == 4
    assert (data["image"], data["buttons"], data["upscaled_urls"]) == ("", [], [])


def test_result_errors(api, account):
    assert api.get(RESULT).json()["code"] == 1003
    assert api.result("0" * 24)["code"] == 1008
    other = provision_account()
    job_id = make_job(api)
    assert api.result(job_id, headers={"x-api-key": other.api_key})["code"] == 1009


# --- images ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale, resolution, size",
    [
        ("1:1", "1080p", (1920, 1920)),
        ("16:9", "4k", (3840, 2160)),
        ("2:3", "1080p", (1280, 1920)),
        ("9:16", "1080p", (1080, 1920)),
        ("4:3", "1080p", (1920, 1440)),
        ("3:2", "4k", (3840, 2560)),
        ("3:4", "1080p", (1440, 1920)),
    ],
)
def test_images_have_the_size_of_scale_and_resolution(api, client, scale, resolution, size):
    job_id = make_job(api, scale=scale, resolution=resolution)
    assert png_size(client, api.result(job_id)["data"]["image"])[0] == size


def test_noise_marker_makes_an_incompressible_png(api, client):
    job_id = make_job(api, prompt="static [noise]", scale="16:9", resolution="1080p")
    (size, length) = png_size(client, api.result(job_id)["data"]["image"])
    assert size == (1920, 1080)
    assert length > 1920 * 1080 * 3 * 0.9


def test_an_expired_url_answers_403(api, client, settings):
    job_id = make_job(api)
    settings.SANDBOX_URL_EXPIRY_SECONDS = 60
    set_clock(job_id, started=-120, finished=-61)
    response = client.get(api.result(job_id)["data"]["image"])
    assert response.status_code == 403
    assert b"AccessDenied" in response.content


def test_a_forged_signature_answers_403_and_unknown_images_404(api, client):
    job_id = make_job(api)
    url = api.result(job_id)["data"]["image"]
    assert client.get(re.sub(r"sig=\w+", "sig=" + "0" * 32, url)).status_code == 403
    assert client.get(url.replace("expires=", "expires=9")).status_code == 403
    assert client.get(re.sub(r"sig=\w+", "sig=é", url)).status_code == 403
    assert client.get(re.sub(r"expires=\d+", "expires=" + "9" * 5000, url)).status_code == 403
    assert client.get(url.replace(job_id, "f" * 24)).status_code == 404


def test_an_unfinished_job_has_no_image_to_serve(api, client, settings):
    settings.SANDBOX_QUEUE_SECONDS = 60
    job_id = make_job(api)
    assert client.get(f"/sandbox/akool/cdn/{job_id}.png?expires=1&sig=x").status_code == 404


def test_the_png_is_rendered_once_and_cached(api, client, sandbox_cache):
    job_id = make_job(api, resolution="1080p")
    url = api.result(job_id)["data"]["image"]
    png_size(client, url)
    cached = sandbox_cache / f"{job_id}.png"
    mtime = cached.stat().st_mtime_ns
    png_size(client, url)
    assert cached.stat().st_mtime_ns == mtime


def test_a_batch_gets_distinct_files_of_distinct_pictures_painted_once(api, client, sandbox_cache):
    def download(job_id):
        response = client.get(api.result(job_id)["data"]["image"])
        data = b"".join(response.streaming_content)
        with Image.open(io.BytesIO(data)) as image:
            return data, image.convert("RGB").tobytes()

    batch = api.create(batch_quantity=4, resolution="1080p", prompt="koi pond at noon")["data"]
    results = [download(record["_id"]) for record in batch]
    assert len({data for data, _ in results}) == 4
    assert len({pixels for _, pixels in results}) == 4
    # Another batch of that prompt: new files, but the same four pictures, not painted again.
    painted = sorted(p.stat().st_mtime_ns for p in (sandbox_cache / "pictures").iterdir())
    again = api.create(batch_quantity=4, resolution="1080p", prompt="koi pond at noon")["data"]
    repeated = [download(record["_id"]) for record in again]
    assert not {data for data, _ in repeated} & {data for data, _ in results}
    assert {pixels for _, pixels in repeated} == {pixels for _, pixels in results}
    assert sorted(p.stat().st_mtime_ns for p in (sandbox_cache / "pictures").iterdir()) == painted


# --- buttons ---------------------------------------------------------------------------------


def test_buttons_need_a_completed_job(api, settings):
    settings.SANDBOX_QUEUE_SECONDS = 60
    job_id = make_job(api)
    assert api.button(job_id, "U1")["code"] == 1010


def test_an_upscale_is_a_new_larger_job_without_buttons(api, client):
    parent = make_job(api, scale="16:9", resolution="1080p")
    answer = api.button(parent, "U2")
    assert answer["code"] == 1000
    data = answer["data"]
    assert data["_id"] != parent and data["image_content_model_id"] == parent
    assert data["op_button"] == "U2" and len(data["op_buttonMessageId"]) == 20
    assert (data["image_status"], data["deduction_credit"], data["from"]) == (1, 2, 1)
    assert data["buttons"] == data["used_buttons"] == data["upscaled_urls"] == []
    child = api.result(data["_id"])["data"]
    assert child["image_status"] == 3
    assert child["buttons"] == [] and child["upscaled_urls"] == []
    assert child["image_content_model_id"] == parent and child["op_button"] == "U2"
    assert png_size(client, child["image"])[0] == (2880, 1620)
    assert api.button(data["_id"], "V1")["code"] == 1010


def test_a_used_button_moves_to_used_buttons_and_cannot_be_used_again(api):
    parent = make_job(api)
    assert api.button(parent, "V3")["code"] == 1000
    result = api.result(parent)["data"]
    assert result["used_buttons"] == ["V3"]
    assert "V3" not in result["buttons"] and len(result["buttons"]) == 7
    assert api.button(parent, "V3")["code"] == 1011


def test_a_variation_keeps_the_size_and_offers_buttons(api, client):
    parent = make_job(api, scale="2:3", resolution="1080p")
    data = api.button(parent, "V1")["data"]
    assert data["deduction_credit"] == 1  # a variation costs what its parent's resolution does
    child = api.result(data["_id"])["data"]
    assert len(child["buttons"]) == 8
    assert png_size(client, child["image"])[0] == (1280, 1920)


@pytest.mark.parametrize(
    "body, code",
    [
        ({"button": "U1"}, 1003),
        ({"_id": "PARENT"}, 1003),
        ({"_id": "PARENT", "button": "U5"}, 1003),
        ({"_id": "PARENT", "button": "u1"}, 1003),
        ({"_id": "0" * 24, "button": "U1"}, 1008),
        ({"_id": "PARENT", "button": "U1", "webhookUrl": "nope"}, 1003),
    ],
)
def test_button_errors(api, body, code):
    parent = make_job(api)
    body = {k: (parent if v == "PARENT" else v) for k, v in body.items()}
    assert api.post(BUTTON, body).json()["code"] == code


def test_another_accounts_job_answers_1009(api):
    parent = make_job(api)
    other = provision_account()
    body = {"_id": parent, "button": "U1"}
    assert api.post(BUTTON, body, headers={"x-api-key": other.api_key}).json()["code"] == 1009


def test_a_failed_job_offers_no_buttons(api):
    assert api.button(make_job(api, prompt="[fail]"), "U1")["code"] == 1010


# --- credits ---------------------------------------------------------------------------------


def test_credits_go_down_per_image_and_run_out_with_1006(api, account):
    SandboxAccount.objects.filter(pk=account.pk).update(credit=5)
    make_job(api, resolution="4k")  # 2
    make_job(api, resolution="1080p")  # 1
    assert api.get(CREDIT).json()["data"]["credit"] == 2
    assert api.create(resolution="4k", batch_quantity=2)["code"] == 1006
    assert SandboxJob.objects.count() == 2
    parent = SandboxJob.objects.filter(resolution="4k").get().job_id
    assert api.button(parent, "U1")["code"] == 1000  # upscales cost 2
    assert api.get(CREDIT).json()["data"]["credit"] == 0
    assert api.button(parent, "U2")["code"] == 1006
    assert api.result(parent)["data"]["used_buttons"] == ["U1"]


# --- fault markers ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1003, 1005, 1006, 1101, 1108, 1200, 2001])
def test_error_marker_answers_that_code_without_a_job(api, code):
    answer = api.create(prompt=f"anything [error:{code}]")
    assert answer["code"] == code and answer["msg"]
    assert not SandboxJob.objects.exists()
    assert SandboxAccount.objects.get().credit == 100


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_marker_answers_a_gateway_page_without_a_job(api, status):
    response = api.post(CREATE, {"prompt": f"x [http:{status}]"})
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert not SandboxJob.objects.exists()
    assert SandboxRequest.objects.get().outcome == f"http {status}"


def test_slow_marker_creates_the_job_and_answers_late(api):
    answer = api.create(prompt="x [slow:0.05]")
    assert answer["code"] == 1000
    assert SandboxJob.objects.count() == 1
    assert SandboxRequest.objects.get(kind="create").outcome == "slow"


def test_drop_marker_creates_and_charges_the_job(api):
    api.post(CREATE, {"prompt": "x [drop]"})
    assert SandboxJob.objects.count() == 1
    assert SandboxAccount.objects.get().credit == 98
    row = SandboxRequest.objects.get(kind="create")
    assert (row.outcome, row.http_status) == ("dropped", None)


def test_drop_finds_no_socket_in_the_test_client(rf):
    assert faults.request_socket(rf.post("/")) is None


def test_random_faults_never_create_jobs_except_when_slow(api, settings):
    settings.SANDBOX_FAULT_RATE = 1.0
    settings.SANDBOX_FAULT_SEED = 7
    settings.SANDBOX_FAULT_SLOW_SECONDS = 0
    answers = [api.post(CREATE, {"prompt": "x"}) for _ in range(30)]
    http = [a for a in answers if a.status_code == 503]
    codes = [a.json()["code"] for a in answers if a.status_code == 200]
    assert http and 1108 in codes and 1000 in codes
    assert SandboxJob.objects.count() == codes.count(1000)
    outcomes = set(SandboxRequest.objects.values_list("outcome", flat=True))
    assert outcomes == {"http 503 (random)", "error 1108 (random)", "slow (random)"}


def test_random_faults_on_reads_answer_2001(api, settings):
    settings.SANDBOX_FAULT_RATE = 1.0
    settings.SANDBOX_FAULT_SEED = 3
    settings.SANDBOX_FAULT_SLOW_SECONDS = 0
    answers = [api.get(CREDIT) for _ in range(20)]
    assert {a.json()["code"] for a in answers if a.status_code == 200} == {1000, 2001}


def test_the_same_fault_seed_gives_the_same_faults(api, settings):
    settings.SANDBOX_FAULT_RATE = 0.5
    settings.SANDBOX_FAULT_SLOW_SECONDS = 0

    def run(seed):
        settings.SANDBOX_FAULT_SEED = seed
        return [api.get(CREDIT).status_code for _ in range(20)]

    first = run(11)
    assert run(12) != first
    # Changing the seed restarts the sequence, as a fresh process with that seed would.
    assert run(11) == first


# --- request log -----------------------------------------------------------------------------


def test_every_call_writes_one_log_row_of_its_kind(api, account, client):
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    api.post(TOKEN, body, headers={})
    job_id = make_job(api)
    url = api.result(job_id)["data"]["image"]
    api.button(job_id, "U1")
    api.get(CREDIT)
    client.get(url)
    api.create(prompt="")
    kinds = list(SandboxRequest.objects.order_by("id").values_list("kind", "code", "outcome"))
    assert kinds == [
        ("token", 1000, "ok"),
        ("create", 1000, "ok"),
        ("result", 1000, "ok"),
        ("button", 1000, "ok"),
        ("credit", 1000, "ok"),
        ("download", None, "ok"),
        ("create", 1003, "error 1003"),
    ]
    create = SandboxRequest.objects.filter(kind="create").order_by("id").first()
    assert (create.job_id, create.account, create.http_status) == (job_id, account, 200)


def test_log_rows_never_hold_a_secret(api, account, client):
    body = {"clientId": account.client_id, "clientSecret": account.api_key}
    token = api.post(TOKEN, body, headers={}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    hook_token = "hT0ken-of-the-app-webhook-url"
    job_id = make_job(api, negative_prompt="blur", webhookurl=f"http://127.0.0.1:9/h/{hook_token}/")
    api.result(job_id, headers=bearer)
    api.post(TOKEN, {**body, "clientSecret": "wrong-secret-value"}, headers={})
    client.get(api.result(job_id)["data"]["image"])
    dump = json.dumps(list(SandboxRequest.objects.values()), default=str)
    for secret in (account.api_key, token, "wrong-secret-value", "sig=", hook_token):
        assert secret not in dump
    assert "clientSecret" not in dump
    assert account.client_id in dump  # the non-secret half stays, for debugging
    assert "http://127.0.0.1:9/h/***/" in dump


# --- webhooks (scheduling; delivery is covered by the contract tests) ------------------------


def test_a_webhook_create_schedules_a_processing_and_a_final_callback(
    api, monkeypatch, django_capture_on_commit_callbacks
):
    pushed = []
    monkeypatch.setattr(webhooks, "_push", pushed.append)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = make_job(api, webhookurl="http://127.0.0.1:9/hook")
    assert [d.payload["status"] for d in pushed] == [2, 3]
    final = pushed[1].payload
    assert final["_id"] == job_id and final["type"] == "image"
    assert final["url"] == api.result(job_id)["data"]["image"]
    assert final["deduction_credit"] == 2


def test_a_failing_job_calls_back_with_status_4_and_no_url(
    api, monkeypatch, django_capture_on_commit_callbacks
):
    pushed = []
    monkeypatch.setattr(webhooks, "_push", pushed.append)
    with django_capture_on_commit_callbacks(execute=True):
        make_job(api, prompt="[fail]", webhookurl="http://127.0.0.1:9/hook")
    assert pushed[1].payload["status"] == 4 and "url" not in pushed[1].payload


def test_no_callback_without_a_webhook_url(api, monkeypatch, django_capture_on_commit_callbacks):
    pushed = []
    monkeypatch.setattr(webhooks, "_push", pushed.append)
    with django_capture_on_commit_callbacks(execute=True):
        make_job(api)
    assert pushed == []


# --- concurrency -----------------------------------------------------------------------------


def _in_threads(n, call):
    from django.db import connection

    results = []

    def run():
        try:
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_cannot_use_one_button_twice(api):
    parent = make_job(api, resolution="1080p")
    codes = _in_threads(6, lambda: api.button(parent, "U1")["code"])
    assert sorted(codes) == [1000, 1011, 1011, 1011, 1011, 1011]
    assert SandboxAccount.objects.get().credit == 100 - 1 - 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_overdraw_credits(api, account):
    SandboxAccount.objects.filter(pk=account.pk).update(credit=3)
    codes = _in_threads(6, lambda: api.create(resolution="1080p")["code"])
    assert sorted(codes) == [1000, 1000, 1000, 1006, 1006, 1006]
    assert SandboxAccount.objects.get().credit == 0
