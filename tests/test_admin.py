"""Every admin page for our models loads, and lists stay a fixed number of queries."""

import pytest
from django.contrib import admin
from django.urls import reverse

from generator import audit
from generator.models import (
    ApiToken,
    Channel,
    ChannelKind,
    Delivery,
    Event,
    Generation,
    Invitation,
    Job,
    PromptPreset,
    ShareLink,
    Team,
    TokenKind,
)
from tests.factories import make_generation, make_job

OUR_MODELS = [m for m in admin.site._registry if m._meta.app_label == "generator"]


@pytest.fixture
def rows(owner, member, team_a):
    Invitation.objects.create(team=team_a, email="x@example.com", invited_by=owner)
    generation = make_generation(team_a, owner, "a red fox")
    job = make_job(generation=generation, akool_id="a" * 24)
    ShareLink.create(team_a, owner, [job], password="not shown")
    audit.record(owner, team_a, audit.AuditAction.ROLE_CHANGED, target=member.email)
    PromptPreset.objects.create(team=team_a, created_by=member, name="Kite", prompt="a {x} kite")
    channel = Channel.objects.create(
        team=team_a, name="Ops", kind=ChannelKind.EMAIL, target="ops@example.com"
    )
    Delivery.objects.create(
        channel=channel, team=team_a, event=Event.TEST, key="test:1", payload={"title": "t"}
    )
    ApiToken.issue(team=team_a, kind=TokenKind.PERSONAL, user=owner, name="script")
    return team_a


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_pages_load(admin_client, rows, model):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    obj = model.objects.first()
    change = admin_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )
    assert change.status_code == 200


def test_the_user_add_page_asks_for_an_email(admin_client, db):
    response = admin_client.get(reverse("admin:generator_user_add"))
    assert response.status_code == 200
    assert b'name="email"' in response.content


def test_jobs_cannot_be_edited_in_the_admin(admin_client, rows):
    job = Job.objects.get()
    response = admin_client.get(reverse("admin:generator_job_change", args=[job.pk]))
    assert b'name="state"' not in response.content


def test_the_job_list_does_not_query_per_row(admin_client, rows, django_assert_max_num_queries):
    generation = Generation.objects.get()
    for i in range(10):
        make_job(generation=generation, index=i + 1)
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("admin:generator_job_changelist"))


def test_team_list_counts_members(admin_client, rows):
    response = admin_client.get(reverse("admin:generator_team_changelist"))
    assert (
        response.context["cl"].result_list[0].member_count
        == Team.objects.get(pk=rows.pk).memberships.count()
    )
