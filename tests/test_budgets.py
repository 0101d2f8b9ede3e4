"""Monthly budgets, member caps and role rules: checked before anything reaches Akool."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from generator import budgets
from generator.models import (
    AuditAction,
    AuditEntry,
    Generation,
    Job,
    Membership,
    Resolution,
    Role,
    State,
    Team,
)
from generator.pricing import CREDITS_PER_IMAGE, estimate_credits
from generator.sandbox.models import SandboxRequest
from generator.starters import start_button, start_generation
from tests.factories import make_generation, make_job, make_user, on_sandbox
from tests.instants import ALL, at

# Every test runs on a frozen clock: at `tests.instants.DEFAULT`, or at the instants it names.
pytestmark = pytest.mark.usefixtures("instant")

# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def team(instant, team_a):
    """Team A on the built-in sandbox, in the zone of the instant the clock is pinned at, 1
    credit per 1080p image and 2 per 4K image."""
    team_a.time_zone = instant.zone
    return on_sandbox(team_a)


@pytest.fixture(autouse=True)
def fixed_prices(settings):
    settings.CREDITS_PER_IMAGE_1080P = 1
    settings.CREDITS_PER_IMAGE_4K = 2


def spend(team, author, credits, *, charged=True, state=State.DONE, when=None):
    """A past job of `author` that cost (or reserved) `credits`."""
    return make_job(
        generation=make_generation(team, author, "earlier", resolution=Resolution.HD),
        state=state,
        estimated_credit=credits,
        deduction_credit=credits if charged else None,
        created_at=when or timezone.now(),
    )


def generate_data(**extra):
    return {
        "prompt": "a lighthouse at dawn",
        "mode": "t2i",
        "scale": "1:1",
        "resolution": "1080p",
        "batch": "1",
        **extra,
    }


def post_generate(client, team, **extra):
    return client.post(reverse("studio_generate", args=[team.code]), generate_data(**extra))


def set_budget(team, budget):
    Team.objects.filter(pk=team.pk).update(monthly_budget=budget)
    team.refresh_from_db()


def set_cap(team, user, cap):
    Membership.objects.filter(team=team, user=user).update(monthly_cap=cap)


# --- pricing ---------------------------------------------------------------------------------


def test_the_per_image_estimate_comes_from_settings(settings):
    settings.CREDITS_PER_IMAGE_1080P = 3
    settings.CREDITS_PER_IMAGE_4K = 7
    assert CREDITS_PER_IMAGE["4k"] == 7
    assert estimate_credits("1080p", 2) == 6
    assert estimate_credits("4k", 4) == 28
    # Unknown input never understates: dearest resolution.
    assert estimate_credits("8k", 1) == 7


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_price_setting_stops_start_up_naming_itself(value):
    from tests.test_settings import import_settings

    result = import_settings(DEBUG="1", CREDITS_PER_IMAGE_4K=value)
    assert result.returncode != 0
    assert "CREDITS_PER_IMAGE_4K" in result.stderr


def test_each_job_records_the_estimate_it_reserved(team, member, settings):
    settings.CREDITS_PER_IMAGE_4K = 5
    generation = make_generation(team, member, "x", resolution="4k", batch=3)
    jobs = start_generation(generation)
    assert [j.estimated_credit for j in Job.objects.filter(pk__in=[j.pk for j in jobs])] == [5] * 3


# --- what counts as spent --------------------------------------------------------------------


def test_spent_counts_real_charges_over_estimates_and_skips_uncharged_failures(team, member, owner):
    spend(team, member, 4)  # charged 4
    job = spend(team, member, 2, charged=False, state=State.PROCESSING)  # reserved 2
    spend(team, member, 9, charged=False, state=State.FAILED)  # failed, never charged
    spend(team, owner, 5)
    assert budgets.spent(team) == 4 + 2 + 5
    assert budgets.spent(team, member) == 4 + 2
    # Akool reports the real charge: it replaces the estimate.
    Job.objects.filter(pk=job.pk).update(deduction_credit=1)
    assert budgets.spent(team, member) == 4 + 1


def test_an_unknown_outcome_still_counts_because_akool_may_have_charged(team, member):
    spend(team, member, 3, charged=False, state=State.UNKNOWN)
    assert budgets.spent(team) == 3


@at(*ALL)
def test_last_month_next_month_and_other_teams_do_not_count(
    instant, team, member, outsider, team_b
):
    start, end = team.month_window()
    spend(team, member, 50, when=start - timedelta(seconds=1))
    spend(team, member, 60, when=end)
    spend(team_b, outsider, 70)
    spend(team, member, 2, when=start)
    spend(team, member, 3)  # now
    assert budgets.spent(team) == 2 + 3
    assert budgets.team_usage(team).month == instant.month_name


@at(*ALL)
def test_a_job_made_now_counts_in_this_local_month_and_not_the_next(
    instant, time_machine, team, member
):
    spend(team, member, 4)
    assert budgets.spent(team) == 4
    assert budgets.spent(team, member) == 4
    _, end = team.month_window()
    # The last instant of the local month: still this month's spending.
    time_machine.move_to(end - timedelta(microseconds=1), tick=False)
    assert budgets.spent(team) == 4
    assert budgets.team_usage(team).month == instant.month_name
    # Midnight on the 1st, on the team's wall clock: a new month with nothing spent.
    time_machine.move_to(end, tick=False)
    assert budgets.spent(team) == 0
    assert budgets.team_usage(team).month == timezone.localtime(end, team.zone()).strftime("%B")
    assert budgets.team_usage(team).month != instant.month_name


# --- refusing before Akool -------------------------------------------------------------------


@at(*ALL)
def test_a_submit_over_the_team_budget_is_refused_with_the_numbers(
    instant, team, member_client, member, owner, django_capture_on_commit_callbacks
):
    set_budget(team, 10)
    spend(team, owner, 9)
    with django_capture_on_commit_callbacks() as queued:
        response = post_generate(member_client, team, batch="2")
    assert response.status_code == 200
    text = response.content.decode()
    assert (
        f"This needs 2 credits but the team&#x27;s {instant.month_name} budget has 1 left "
        "(9 of 10 used)" in text
    )
    assert not Job.objects.filter(author=member).exists()
    assert not Generation.objects.filter(prompt="a lighthouse at dawn").exists()
    assert queued == []


def test_a_submit_that_fits_exactly_goes_through(
    team, member_client, member, owner, django_capture_on_commit_callbacks
):
    set_budget(team, 10)
    spend(team, owner, 8)
    with django_capture_on_commit_callbacks() as queued:
        response = post_generate(member_client, team, batch="2")
    assert response.status_code == 302
    assert Job.objects.filter(author=member).count() == 2
    assert len(queued) == 1
    assert budgets.spent(team) == 10


@at(*ALL)
def test_a_submit_over_the_member_cap_is_refused_even_with_team_budget_left(
    instant, team, member_client, member, django_capture_on_commit_callbacks
):
    set_budget(team, 1000)
    set_cap(team, member, 5)
    spend(team, member, 4)
    with django_capture_on_commit_callbacks() as queued:
        response = post_generate(member_client, team, resolution="4k")
    text = response.content.decode()
    assert f"This needs 2 credits but your own {instant.month_name} cap" in text
    assert "has 1 left (4 of 5 used)" in text
    assert Job.objects.filter(author=member).count() == 1
    assert queued == []


def test_the_cap_is_per_person(team, owner_client, owner, member):
    set_cap(team, member, 1)
    spend(team, member, 1)
    response = post_generate(owner_client, team)
    assert response.status_code == 302
    assert Job.objects.filter(author=owner).count() == 1


def test_a_refused_form_keeps_what_was_typed(team, member_client, owner):
    set_budget(team, 0)
    response = post_generate(member_client, team, prompt="keep this prompt", scale="16:9")
    text = response.content.decode()
    assert "keep this prompt" in text
    assert 'value="16:9" selected' in text


def test_a_refused_htmx_submit_answers_with_the_form(team, member_client):
    set_budget(team, 1)
    response = member_client.post(
        reverse("studio_generate", args=[team.code]),
        generate_data(batch="2"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"budget has 1 left (0 of 1 used)" in response.content
    assert b'id="generate-form"' in response.content


def test_upscale_and_variation_buttons_are_checked_too(team, member_client, member):
    parent = spend(team, member, 1)
    Job.objects.filter(pk=parent.pk).update(akool_id="p" * 24, buttons=["U1", "V1"])
    set_budget(team, 2)  # 1 used; a U button is a 4K image (2 credits)
    url = reverse("image_button", args=[team.code, parent.code])
    response = member_client.post(url, {"button": "U1"})
    assert response.status_code == 302
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("This needs 2 credits but the team's" in e for e in errors), errors
    assert not Job.objects.filter(parent=parent).exists()
    # A variation of a 1080p image costs 1: it fits.
    member_client.post(url, {"button": "V1"})
    child = Job.objects.get(parent=parent)
    assert child.button == "V1" and child.estimated_credit == 1


def test_retrying_a_failed_image_is_checked_too(team, member_client, member):
    failed = spend(team, member, 2, charged=False, state=State.FAILED)
    set_budget(team, 0)
    response = member_client.post(reverse("image_retry", args=[team.code, failed.code]))
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("budget has 0 left" in e for e in errors), errors
    assert Job.objects.filter(team=team).count() == 1


def test_start_generation_itself_refuses_over_budget(team, member):
    set_budget(team, 1)
    generation = make_generation(team, member, "x", batch=2)
    with pytest.raises(budgets.BudgetExceeded):
        start_generation(generation)
    assert not generation.jobs.exists()


# --- no request reaches Akool ----------------------------------------------------------------


@pytest.fixture
def run_submits(monkeypatch):
    """Run queued submit tasks at once, in this process, as the worker would; leave the
    follower (it only polls jobs that exist at Akool) unrun. Records every queued task."""
    queued = []

    def fake_async_task(path, *args):
        queued.append(path)
        if path.rsplit(".", 1)[-1] in ("submit_generation", "submit_button"):
            import_string(path)(*args)

    monkeypatch.setattr("generator.queue.async_task", fake_async_task)
    return queued


@pytest.mark.django_db(transaction=True)
def test_no_akool_request_is_made_for_a_refused_submit(
    sandbox_url, team, member, owner, run_submits
):
    client = Client()
    client.force_login(member)
    set_budget(team, 3)
    # Within budget: the sandbox sees exactly one create call (the check is not a no-op).
    assert post_generate(client, team, batch="2").status_code == 302
    assert SandboxRequest.objects.filter(kind=SandboxRequest.Kind.CREATE).count() == 1
    before = SandboxRequest.objects.count()
    # 2 used of 3; two more images do not fit.
    response = post_generate(client, team, batch="2")
    assert b"budget has 1 left (2 of 3 used)" in response.content
    assert SandboxRequest.objects.count() == before
    assert SandboxRequest.objects.filter(kind=SandboxRequest.Kind.CREATE).count() == 1
    # Over a member cap: the same.
    set_budget(team, None)
    set_cap(team, member, 2)
    response = post_generate(client, team)
    assert b"cap in this team has 0 left (2 of 2 used)" in response.content
    assert SandboxRequest.objects.count() == before
    assert Job.objects.count() == 2
    assert run_submits.count("generator.tasks.submit_generation") == 1


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_cannot_both_take_the_last_credits(team, member, owner, monkeypatch):
    """Both requests reach the budget check together. Without the lock both would read "0
    used" and pass; with it the second waits for the first to commit and sees its jobs.

    The barrier holds the first request right after it read the spend, until the second one
    has read it too (possible only without a lock) or the wait runs out (with a lock). The
    outcome, not the timing, is what the test checks.
    """
    set_budget(team, 3)  # room for one request of two images, not two
    monkeypatch.setattr("generator.queue.async_task", lambda *args: None)
    barrier = threading.Barrier(2, timeout=3)
    real_spent = budgets.spent

    def spent_then_wait(team, user=None, when=None):
        value = real_spent(team, user, when)
        if user is None:
            # Broken barrier = the other request is waiting on the lock: go on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return value

    monkeypatch.setattr(budgets, "spent", spent_then_wait)
    statuses = []

    def submit(user):
        try:
            client = Client()
            client.force_login(user)
            statuses.append(post_generate(client, team, batch="2").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(u,)) for u in (member, owner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 302 = started, 200 = the form again with the refusal.
    assert sorted(statuses) == [200, 302]
    assert Job.objects.count() == 2
    assert budgets.spent(team) == 2


# --- role rules ------------------------------------------------------------------------------


def test_a_role_rule_blocks_4k_for_members(team, member_client, member, owner_client):
    Team.objects.filter(pk=team.pk).update(min_role_4k=Role.ADMIN)
    response = post_generate(member_client, team, resolution="4k")
    assert response.status_code == 200
    assert b"4K images needs the admin role or higher" in response.content
    assert not Job.objects.exists()
    # 1080p is fine for members, and 4K is fine for the owner.
    assert post_generate(member_client, team).status_code == 302
    assert post_generate(owner_client, team, resolution="4k").status_code == 302
    assert Job.objects.count() == 2


def test_role_rules_for_batches_and_image_to_image(team, member_client):
    Team.objects.filter(pk=team.pk).update(min_role_batch=Role.ADMIN, min_role_i2i=Role.OWNER)
    response = post_generate(member_client, team, batch="3")
    assert b"more than one image at a time needs the admin role" in response.content
    response = post_generate(
        member_client, team, mode="i2i", source_url="https://images.example.com/a.png"
    )
    assert b"image to image needs the owner role" in response.content
    assert not Job.objects.exists()


def test_the_form_marks_what_the_role_cannot_use_and_does_not_preselect_it(
    team, member_client, owner_client
):
    Team.objects.filter(pk=team.pk).update(min_role_4k=Role.ADMIN, min_role_batch=Role.ADMIN)
    text = member_client.get(reverse("studio", args=[team.code])).content.decode()
    assert "4K (not for your role)" in text
    assert "4K images needs the admin role or higher" in text
    # The default resolution is 4K; a member gets 1080p preselected instead.
    assert 'value="1080p" required id="id_resolution_0" checked' in text
    assert 'value="4k" required id="id_resolution_1" checked' not in text
    assert 'name="batch" value="1" min="1" max="1"' in text
    owner_text = owner_client.get(reverse("studio", args=[team.code])).content.decode()
    assert "not for your role" not in owner_text
    assert 'value="4k" required id="id_resolution_1" checked' in owner_text


def test_start_generation_enforces_role_rules_too(team, member):
    Team.objects.filter(pk=team.pk).update(min_role_4k=Role.ADMIN)
    generation = make_generation(team, member, "x", resolution="4k")
    with pytest.raises(budgets.RoleNotAllowed, match="4K images"):
        start_generation(generation)
    assert not generation.jobs.exists()


def test_an_upscale_is_4k_and_falls_under_the_4k_rule(team, member):
    Team.objects.filter(pk=team.pk).update(min_role_4k=Role.ADMIN)
    parent = spend(team, member, 1)
    Job.objects.filter(pk=parent.pk).update(akool_id="q" * 24, buttons=["U1", "V1"])
    parent.refresh_from_db()
    with pytest.raises(budgets.RoleNotAllowed):
        start_button(parent, "U1", member)
    assert start_button(parent, "V1", member).button == "V1"


# --- the 80 % banner -------------------------------------------------------------------------


@at(*ALL)
def test_owners_and_admins_see_a_warning_at_80_percent(
    instant, team, owner_client, team_admin_client, member_client, member
):
    set_budget(team, 100)
    spend(team, member, 79)
    studio = reverse("studio", args=[team.code])
    assert b"budget-banner" not in owner_client.get(studio).content
    spend(team, member, 1)
    text = owner_client.get(studio).content.decode()
    assert "budget-banner" in text
    assert f"has used 80 of its 100 credits for {instant.month_name} (80 %)" in text
    assert b"budget-banner" in team_admin_client.get(studio).content
    assert b"budget-banner" not in member_client.get(studio).content


def test_no_budget_means_no_banner(team, owner_client, member):
    spend(team, member, 10_000)
    assert b"budget-banner" not in owner_client.get(reverse("studio", args=[team.code])).content


# --- settings --------------------------------------------------------------------------------


def save_budget(client, team, **data):
    base = {
        "monthly_budget": "",
        "min_role_4k": "member",
        "min_role_batch": "member",
        "min_role_i2i": "member",
    }
    return client.post(reverse("team_budget", args=[team.code]), {**base, **data})


def test_an_owner_sets_the_budget_and_rules(team, owner_client):
    response = save_budget(owner_client, team, monthly_budget="500", min_role_4k="owner")
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.monthly_budget == 500 and team.min_role_4k == Role.OWNER
    entry = AuditEntry.objects.get(action=AuditAction.BUDGET_CHANGED)
    assert entry.details == {"monthly_budget": [None, 500], "min_role_4k": ["member", "owner"]}


def test_a_negative_budget_is_a_field_error_and_changes_nothing(team, owner_client):
    response = save_budget(owner_client, team, monthly_budget="-5")
    assert response.status_code == 200
    assert b"greater than or equal to 0" in response.content
    team.refresh_from_db()
    assert team.monthly_budget is None
    assert not AuditEntry.objects.exists()


def test_an_admin_cannot_set_an_owner_only_rule(team, team_admin_client):
    response = save_budget(team_admin_client, team, min_role_batch="owner")
    assert response.status_code == 200
    team.refresh_from_db()
    assert team.min_role_batch == Role.MEMBER


def test_an_admin_cannot_loosen_a_rule_an_owner_set(team, team_admin_client):
    Team.objects.filter(pk=team.pk).update(min_role_i2i=Role.OWNER)
    save_budget(team_admin_client, team, monthly_budget="50", min_role_i2i="member")
    team.refresh_from_db()
    assert team.monthly_budget == 50
    assert team.min_role_i2i == Role.OWNER


def test_setting_and_clearing_a_member_cap(team, owner_client, member):
    url = reverse("member_cap", args=[team.code])
    owner_client.post(url, {"member": member.email, "monthly_cap": "40"})
    assert Membership.objects.get(user=member).monthly_cap == 40
    owner_client.post(url, {"member": member.email, "monthly_cap": ""})
    assert Membership.objects.get(user=member).monthly_cap is None
    assert AuditEntry.objects.filter(action=AuditAction.BUDGET_CHANGED).count() == 2


def test_a_cap_for_someone_outside_the_team_is_refused(team, owner_client, outsider):
    response = owner_client.post(
        reverse("member_cap", args=[team.code]), {"member": outsider.email, "monthly_cap": "5"}
    )
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert errors == [f"{outsider.email} is not a member of {team.name}."]
    assert Membership.objects.get(user=outsider).monthly_cap is None


@pytest.mark.parametrize("value", [str(10**20), "-1"])
def test_a_cap_out_of_range_is_refused_with_a_message(team, owner_client, member, value):
    response = owner_client.post(
        reverse("member_cap", args=[team.code]), {"member": member.email, "monthly_cap": value}
    )
    assert response.status_code == 302
    errors = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(errors) == 1 and "Ensure this value is" in errors[0]
    assert Membership.objects.get(user=member).monthly_cap is None


def test_a_budget_out_of_range_is_refused_with_a_message(team, owner_client):
    response = owner_client.post(
        reverse("team_budget", args=[team.code]),
        {
            "monthly_budget": str(10**20),
            "min_role_4k": "member",
            "min_role_batch": "member",
            "min_role_i2i": "member",
        },
    )
    assert response.status_code in (200, 302)
    team.refresh_from_db()
    assert team.monthly_budget is None


@at(*ALL)
def test_the_settings_page_shows_usage_per_member(instant, team, owner_client, member):
    set_budget(team, 30)
    spend(team, member, 7)
    text = owner_client.get(reverse("team_settings", args=[team.code])).content.decode()
    assert f"7 of 30 credits used in {instant.month_name}" in text
    assert 'id="budget"' in text


def test_a_new_member_has_no_cap(team):
    user = make_user("fresh@a.example", team, Role.MEMBER)
    assert Membership.objects.get(user=user).monthly_cap is None
