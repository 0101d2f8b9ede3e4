"""The REST API over real HTTP against a live server, with a django-q2 worker and the sandbox:
a script's whole day, from making a token to downloading, upscaling, listing and deleting."""

import logging
import re
import threading
import uuid

import pytest
import requests
from django.test import Client
from django.utils import timezone

from generator.models import ApiToken, AuditEntry, Job, Role, Scope, TokenKind
from generator.sandbox.models import SandboxRequest
from tests.factories import make_user
from tests.fixtures_pipeline import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PROBLEM = "application/problem+json"


@pytest.fixture(params=["polling", "webhook"])
def mode(request, pipeline_settings, live_server):
    if request.param == "webhook":
        pipeline_settings.PUBLIC_BASE_URL = live_server.url
    return request.param


@pytest.fixture
def http(live_server):
    session = requests.Session()
    yield session
    session.close()


def make_token_on_the_account_page(user, team, scope="manage"):
    """The account page's form, as a person uses it; returns the secret it shows once."""
    client = Client()
    client.force_login(user)
    page = client.post(
        "/account/tokens/", {"name": "catalogue sync", "team": team.code, "scope": scope}
    )
    match = re.search(r'id="new-token-secret"[^>]*value="([^"]+)"', page.content.decode())
    return match.group(1)


class Api:
    def __init__(self, http, base, secret):
        self.http, self.base, self.secret = http, base + "/api/v1", secret

    def __call__(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.secret}")
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)


def creates():
    return SandboxRequest.objects.filter(kind="create").count()


def test_a_script_generates_downloads_upscales_lists_and_deletes(
    pipeline_team, mode, start_worker, live_server, http, caplog
):
    caplog.set_level(logging.DEBUG)
    owner = pipeline_team.memberships.get().user
    secret = make_token_on_the_account_page(owner, pipeline_team)
    api = Api(http, live_server.url, secret)
    worker = start_worker()

    body = {"prompt": "harbour at dawn", "resolution": "1080p", "batch": 2, "scale": "16:9"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api(
        "POST", "/generations", json=body, headers=key | {"Authorization": f"Bearer {secret}"}
    )
    assert first.status_code == 201, first.text
    code = first.json()["code"]
    again = api(
        "POST", "/generations", json=body, headers=key | {"Authorization": f"Bearer {secret}"}
    )
    assert again.status_code == 201 and again.json()["code"] == code
    assert again.headers["Idempotent-Replayed"] == "true"

    def generation_done():
        return api("GET", f"/generations/{code}").json()["done"]

    wait_for(generation_done, timeout=90, message="the batch")
    generation = api("GET", f"/generations/{code}").json()
    assert [image["state"] for image in generation["images"]] == ["done", "done"]
    # One create call for the batch, though it was submitted twice.
    assert creates() == 1

    image = generation["images"][0]
    original = api("GET", f"/images/{image['code']}/original")
    assert original.status_code == 200
    job = Job.objects.get(code=image["code"])
    with job.original.open("rb") as stored:
        assert original.content == stored.read()

    wait_for(
        lambda: "U1" in api("GET", f"/images/{image['code']}").json()["buttons"],
        timeout=30,
        message="the image's buttons",
    )
    upscale = api("POST", f"/images/{image['code']}/buttons/U1")
    assert upscale.status_code == 201, upscale.text
    child = upscale.json()
    assert child["parent"] == image["code"] and child["button"] == "U1"
    wait_for(
        lambda: api("GET", f"/images/{child['code']}").json()["state"] == "done",
        timeout=90,
        message="the upscale",
    )
    assert SandboxRequest.objects.filter(kind="button").count() == 1
    assert Job.objects.get(code=child["code"]).api_token.name == "catalogue sync"

    # Three images, listed one a page, newest first, each page from the last one's cursor.
    seen, cursor = [], ""
    while True:
        page = api("GET", "/images", params={"limit": 1, "status": "done", "cursor": cursor})
        assert page.status_code == 200
        seen += [item["code"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3 and seen[0] == child["code"]
    assert api("GET", "/images", params={"q": "lighthouse"}).json()["items"] == []
    assert len(api("GET", "/images", params={"q": "harbour"}).json()["items"]) == 3

    usage = api("GET", "/usage").json()
    token_rows = next(s for s in usage["sections"] if s["slug"] == "token")["rows"]
    assert token_rows[0]["label"].startswith("catalogue sync") and token_rows[0]["images"] == 3

    gone = api("DELETE", f"/images/{child['code']}")
    assert gone.status_code == 204
    assert api("GET", f"/images/{child['code']}").status_code == 404
    # Like the studio's Delete, into the team's trash, restorable until the purge.
    assert Job.objects.in_trash().filter(code=child["code"]).exists()
    assert "catalogue sync" in AuditEntry.objects.get(action="image_deleted").details["via"]

    # The secret appears in no log line of the server (its thread logs here) or the worker.
    assert caplog.records and secret not in caplog.text
    assert worker.output() and secret not in worker.output()


def test_over_budget_the_api_refuses_before_any_call_to_akool(pipeline_team, live_server, http):
    pipeline_team.monthly_budget = 1
    pipeline_team.save()
    owner = pipeline_team.memberships.get().user
    api = Api(http, live_server.url, make_token_on_the_account_page(owner, pipeline_team))
    refused = api("POST", "/generations", json={"prompt": "a kite", "batch": 2})
    assert refused.status_code == 402
    assert refused.headers["Content-Type"] == PROBLEM
    assert "budget" in refused.json()["detail"]
    assert creates() == 0 and not Job.objects.exists()


def test_scope_role_revoked_expired_and_rate_limit_refusals(
    pipeline_team, live_server, http, settings, own_cache
):
    owner = pipeline_team.memberships.get().user
    viewer = make_user("viewer@example.com", pipeline_team, Role.VIEWER)
    read_only = Api(
        http, live_server.url, make_token_on_the_account_page(owner, pipeline_team, "read")
    )
    refused = read_only("POST", "/generations", json={"prompt": "a kite"})
    assert refused.status_code == 403 and "scope" in refused.json()["detail"]

    viewers = Api(http, live_server.url, make_token_on_the_account_page(viewer, pipeline_team))
    assert viewers("POST", "/generations", json={"prompt": "a kite"}).status_code == 403

    token, secret = ApiToken.issue(
        team=pipeline_team,
        kind=TokenKind.SERVICE,
        role=Role.MEMBER,
        name="bot",
        scope=Scope.MANAGE,
        expires_at=timezone.now() - timezone.timedelta(minutes=1),
    )
    expired = Api(http, live_server.url, secret)
    assert expired("GET", "/images").status_code == 401
    token, secret = ApiToken.issue(
        team=pipeline_team,
        kind=TokenKind.SERVICE,
        role=Role.MEMBER,
        name="bot2",
        scope=Scope.MANAGE,
    )
    bot = Api(http, live_server.url, secret)
    assert bot("GET", "/images").status_code == 200
    token.revoke()
    revoked = bot("GET", "/images")
    assert revoked.status_code == 401 and revoked.headers["Content-Type"] == PROBLEM
    assert creates() == 0

    settings.API_RATE_LIMIT_PER_MINUTE = 2
    limited = Api(http, live_server.url, make_token_on_the_account_page(owner, pipeline_team))
    answers = [limited("GET", "/usage") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].headers["Content-Type"] == PROBLEM


def test_two_retries_racing_with_one_key_start_one_generation(pipeline_team, live_server):
    owner = pipeline_team.memberships.get().user
    secret = make_token_on_the_account_page(owner, pipeline_team)
    body = {"prompt": "a kite", "resolution": "1080p", "batch": 3}
    barrier = threading.Barrier(3)
    answers = []

    def submit():
        with requests.Session() as session:
            api = Api(session, live_server.url, secret)
            barrier.wait(timeout=10)
            answers.append(
                api("POST", "/generations", json=body, headers={"Idempotency-Key": "race"})
            )

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert len({a.json()["code"] for a in answers}) == 1
    assert Job.objects.count() == 3
