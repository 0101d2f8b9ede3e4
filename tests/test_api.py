"""The REST API over the test client: tokens, scopes and roles, problem details, idempotency,
rate limits, budgets (end-to-end runs over real HTTP are in test_api_live.py)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from generator.models import (
    ApiToken,
    AuditEntry,
    IdempotencyKey,
    Job,
    Role,
    Scope,
    TokenKind,
    User,
)
from generator.sandbox.models import SandboxRequest
from tests.factories import image_bytes, make_generated_job, on_sandbox

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def personal(user, team, scope=Scope.MANAGE, **fields):
    return ApiToken.issue(
        team=team,
        kind=TokenKind.PERSONAL,
        user=user,
        created_by=user,
        name="script",
        scope=scope,
        **fields,
    )


def service(team, role=Role.MEMBER, scope=Scope.MANAGE, **fields):
    return ApiToken.issue(
        team=team, kind=TokenKind.SERVICE, role=role, name="catalogue bot", scope=scope, **fields
    )


def call(client, method, path, secret=None, body=None, **headers):
    if secret:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    kwargs = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)


def test_a_request_without_a_token_gets_a_401_problem(client):
    response = call(client, "get", "/images")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_path_is_a_404_problem(client, owner, team_a):
    _, secret = personal(owner, team_a)
    response = call(client, "get", "/nothing-here", secret)
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM


def test_a_personal_token_lists_its_team_images(client, owner, team_a, team_b):
    mine = make_generated_job(team_a, owner, "harbour at dawn")
    make_generated_job(team_b, None, "elsewhere")
    _, secret = personal(owner, team_a, Scope.READ)
    response = call(client, "get", "/images", secret)
    assert response.status_code == 200
    assert [item["code"] for item in response.json()["items"]] == [str(mine.code)]


def test_revoked_and_expired_tokens_get_401(client, owner, team_a):
    token, secret = personal(owner, team_a)
    token.revoke()
    assert call(client, "get", "/images", secret).status_code == 401
    _, old = personal(owner, team_a, expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert call(client, "get", "/images", old).status_code == 401


def test_a_read_token_cannot_generate(client, owner, team_a):
    _, secret = personal(owner, team_a, Scope.READ)
    response = call(client, "post", "/generations", secret, {"prompt": "a kite"})
    assert response.status_code == 403
    assert "scope" in response.json()["detail"]


def test_a_viewers_token_cannot_generate(client, viewer, team_a):
    _, secret = personal(viewer, team_a, Scope.MANAGE)
    response = call(client, "post", "/generations", secret, {"prompt": "a kite"})
    assert response.status_code == 403


def test_a_token_of_someone_who_left_stops_working(client, member, team_a):
    _, secret = personal(member, team_a)
    team_a.memberships.filter(user=member).delete()
    assert call(client, "get", "/images", secret).status_code == 401


def test_invalid_fields_come_back_as_a_422_problem_with_field_errors(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a)
    response = call(client, "post", "/generations", secret, {"prompt": "", "batch": 9})
    assert response.status_code == 422
    body = response.json()
    assert set(body["errors"]) >= {"prompt", "batch"}
    assert not Job.objects.exists()


def test_a_generation_over_the_tokens_cap_is_refused_before_akool(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a, monthly_cap=1)
    response = call(client, "post", "/generations", secret, {"prompt": "a kite", "batch": 2})
    assert response.status_code == 402
    assert "cap of the API token" in response.json()["detail"]
    assert not Job.objects.exists()
    assert not SandboxRequest.objects.exists()


def test_a_blocked_prompt_is_refused_audited_and_never_sent(client, owner, team_a):
    on_sandbox(team_a)
    team_a.blocked_phrases = "red wedding"
    team_a.save()
    _, secret = personal(owner, team_a)
    response = call(
        client,
        "post",
        "/generations",
        secret,
        {"prompt": "the Red  Wedding, oil on canvas"},
        HTTP_IDEMPOTENCY_KEY="blocked-1",
    )
    assert response.status_code == 422
    assert "red wedding" in response.json()["detail"].lower()
    # The refusal outlives the request's rolled-back transaction; nothing reached Akool.
    assert AuditEntry.objects.filter(action="prompt_blocked").count() == 1
    assert not Job.objects.exists() and not IdempotencyKey.objects.exists()
    assert not SandboxRequest.objects.exists()


def test_same_idempotency_key_returns_the_same_generation(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a)
    body = {"prompt": "a kite", "resolution": "1080p", "batch": 2}
    first = call(client, "post", "/generations", secret, body, HTTP_IDEMPOTENCY_KEY="k1")
    again = call(client, "post", "/generations", secret, body, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert first.json()["code"] == again.json()["code"]
    assert again["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 2
    other = call(
        client, "post", "/generations", secret, {**body, "batch": 1}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert other.status_code == 422 and other["Content-Type"] == PROBLEM
    assert Job.objects.count() == 2


def test_the_rate_limit_answers_429_with_retry_after(client, owner, team_a, settings, own_cache):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    _, secret = personal(owner, team_a, Scope.READ)
    statuses = [call(client, "get", "/images", secret).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = call(client, "get", "/images", secret)
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"] == PROBLEM


def test_a_member_service_token_may_not_delete_a_persons_image(client, owner, team_a):
    job = make_generated_job(team_a, owner, state="done")
    _, secret = service(team_a, Role.MEMBER)
    response = call(client, "delete", f"/images/{job.code}", secret)
    assert response.status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()


def test_deleting_through_a_token_is_audited_with_the_token(client, owner, team_a):
    job = make_generated_job(team_a, owner, state="done")
    token, secret = personal(owner, team_a)
    assert call(client, "delete", f"/images/{job.code}", secret).status_code == 204
    entry = AuditEntry.objects.get(action="image_deleted")
    assert token.name in entry.details["via"]
    assert secret not in json.dumps(entry.details)


def test_a_personal_token_is_shown_once_and_its_making_audited(owner_client, owner, team_a):
    response = owner_client.post(
        "/account/tokens/",
        {"name": "sync", "team": team_a.code, "scope": "read", "expires": "30"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    token = ApiToken.objects.get(user=owner)
    html = response.content.decode()
    secret = html.split('id="new-token-secret"')[1].split('value="')[1].split('"')[0]
    assert secret.startswith("akw_") and ApiToken.find(secret) == token
    later = owner_client.get("/account/tokens/").content.decode()
    assert token.name in later and secret not in later
    entry = AuditEntry.objects.get(action="api_token_created")
    assert "sync" in entry.target and secret not in json.dumps(entry.details) + entry.target


def test_an_admin_makes_a_service_token_but_not_an_owner_one(team_admin_client, team_a):
    url = f"/t/{team_a.code}/tokens/"
    refused = team_admin_client.post(
        url, {"name": "bot", "role": "owner", "scope": "generate", "expires": ""}
    )
    assert refused.status_code == 200 and not ApiToken.objects.exists()
    made = team_admin_client.post(
        url, {"name": "bot", "role": "admin", "scope": "generate", "expires": ""}
    )
    assert made.status_code == 200
    token = ApiToken.objects.get()
    assert token.kind == "service" and token.role == "admin" and token.user is None


def test_a_member_cannot_open_the_team_tokens_page(member_client, team_a):
    assert member_client.get(f"/t/{team_a.code}/tokens/").status_code == 403


def test_revoking_from_the_team_page_is_audited(team_admin_client, owner, team_a):
    token, secret = personal(owner, team_a)
    response = team_admin_client.post(f"/t/{team_a.code}/tokens/{token.code}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.filter(action="api_token_revoked").count() == 1
    assert secret not in team_admin_client.get(f"/t/{team_a.code}/tokens/").content.decode()


def test_the_api_docs_page_uses_only_our_own_scripts(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/generations" in schema["paths"]


def test_image_to_image_takes_a_multipart_upload(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a)
    upload = SimpleUploadedFile("source.png", image_bytes("PNG", (64, 48)), "image/png")
    response = client.post(
        "/api/v1/generations",
        {"prompt": "make it snow", "mode": "i2i", "scale": "Original", "source_file": upload},
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["mode"] == "i2i"
    generation = Job.objects.get().generation
    assert generation.source_upload and generation.source_url


def test_image_to_image_refuses_a_private_link(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a)
    body = {"prompt": "make it snow", "mode": "i2i", "source_url": "http://127.0.0.1/a.png"}
    response = call(client, "post", "/generations", secret, body)
    assert response.status_code == 422
    assert "source_url" in response.json()["errors"]


def test_a_crash_is_a_500_problem_without_a_trace(client, owner, team_a, monkeypatch):
    from generator.api import usage

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(usage, "build_report", boom)
    _, secret = personal(owner, team_a)
    response = call(client, "get", "/usage", secret)
    assert response.status_code == 500 and response["Content-Type"] == PROBLEM
    assert "secret internals" not in response.content.decode()


def test_a_service_token_generates_with_its_own_role(client, team_a, owner):
    on_sandbox(team_a)
    team_a.min_role_4k = Role.ADMIN
    team_a.save()
    _, member_secret = service(team_a, Role.MEMBER)
    body = {"prompt": "a kite", "resolution": "4k"}
    refused = call(client, "post", "/generations", member_secret, body)
    assert refused.status_code == 422 and "resolution" in refused.json()["errors"]
    _, admin_secret = service(team_a, Role.ADMIN)
    made = call(client, "post", "/generations", admin_secret, body)
    assert made.status_code == 201
    job = Job.objects.get()
    assert job.author is None and job.api_token.role == Role.ADMIN


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/images/not-a-code", 404),
        ("put", "/images", 405),
        ("get", "/images?limit=0", 422),
        ("get", "/images?cursor=forged", 422),
        ("get", "/usage?month=next", 422),
        ("post", "/images/00000000-0000-0000-0000-000000000000/buttons/U1", 404),
    ],
)
def test_every_error_is_a_problem(client, owner, team_a, method, path, status):
    _, secret = personal(owner, team_a)
    response = call(client, method, path, secret)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == status


def test_the_usage_page_shows_what_each_token_started(owner_client, owner, team_a):
    on_sandbox(team_a)
    token, secret = personal(owner, team_a)
    assert call(Client(), "post", "/generations", secret, {"prompt": "a kite"}).status_code == 201
    page = owner_client.get(f"/t/{team_a.code}/usage/").content.decode()
    assert "By API token" in page and f"{token.name} (personal, {token.hint}…)" in page
    assert secret not in page


def test_the_admin_lists_tokens_without_their_secret_or_hash(client, owner, team_a):
    token, secret = personal(owner, team_a)
    admin = User.objects.create_superuser(email="root@example.com", password="x")
    client.force_login(admin)
    listing = client.get("/admin/generator/apitoken/").content.decode()
    detail = client.get(f"/admin/generator/apitoken/{token.pk}/change/").content.decode()
    assert token.name in listing and token.name in detail
    for page in (listing, detail):
        assert secret not in page and token.secret_hash not in page


def test_the_api_root_points_to_the_docs(client):
    response = client.get("/api/v1/")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert "/api/v1/docs" in response.json()["detail"]


def test_a_team_tokens_images_are_its_own_usage_row_not_a_removed_account(owner_client, team_a):
    on_sandbox(team_a)
    token, secret = service(team_a, Role.MEMBER)
    assert call(Client(), "post", "/generations", secret, {"prompt": "a kite"}).status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None
    page = owner_client.get(f"/t/{team_a.code}/usage/").content.decode()
    assert f"{token.name} (team, {token.hint}…)" in page
    assert "Removed account" not in page


def test_an_idempotency_key_is_forgotten_after_a_day(client, owner, team_a):
    on_sandbox(team_a)
    _, secret = personal(owner, team_a)
    body = {"prompt": "a kite", "resolution": "1080p"}
    first = call(client, "post", "/generations", secret, body, HTTP_IDEMPOTENCY_KEY="daily")
    IdempotencyKey.objects.update(created_at=timezone.now() - timezone.timedelta(hours=25))
    later = call(client, "post", "/generations", secret, body, HTTP_IDEMPOTENCY_KEY="daily")
    assert later.status_code == 201 and later.json()["code"] != first.json()["code"]
    assert IdempotencyKey.objects.count() == 1
