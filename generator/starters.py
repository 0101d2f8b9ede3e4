"""Starting paid work from a request: the request-side halves of the pipeline.

Each starter checks the team's role rules, reserves the estimated cost against the budgets,
creates the draft jobs and queues the one create call, all in one transaction: the budget lock
is held until the jobs that use it exist, so two people submitting at once cannot jointly
overshoot. The enqueued halves (tasks.py) take it from there.
"""

from django.db import transaction

from . import budgets, early_webhooks, moderation
from .models import Job, PromptHistory
from .notify.events import budget_checked
from .pricing import estimate_button_credits, estimate_credits
from .queue import enqueue
from .tasks import apply_status, submit_button, submit_generation


def start_generation(generation, save=None, board=None, api_token=None):
    """1. Check the prompt against the moderation rules (raises PromptBlocked, after writing
    the refusal to the audit log: so call this outside a transaction that a ValueError rolls
    back). 2. Check the role rules and reserve the estimate (raises RoleNotAllowed /
    BudgetExceeded). All three are ValueErrors with a sentence for the person. 3. `save()` a
    generation that is not stored yet, so a refused request stores nothing, not even its
    upload; `save` returns the stored generation. 4. Create its draft jobs (on `board` too,
    when given, in the same transaction, so a board's live page sees them as they appear),
    note the prompt in its author's history, count a use of its preset and queue its single
    create call. `api_token`: the API token the request came through (its role and cap apply,
    and its jobs name it). Returns the jobs."""
    moderation.enforce(generation)
    cost = estimate_credits(generation.resolution, generation.batch)
    with transaction.atomic():
        team = budgets.reserve(generation.team, generation.author, cost, api_token)
        budgets.check_roles(
            team,
            generation.author,
            api_token,
            resolution=generation.resolution,
            batch=generation.batch,
            mode=generation.mode,
        )
        if save is not None:
            generation = save()
        jobs = generation.create_jobs(api_token=api_token)
        if board is not None:
            board.add_jobs(jobs, generation.author)
        PromptHistory.record(generation)
        if generation.preset is not None:
            generation.preset.count_use()
        enqueue(submit_generation, generation.pk)
    budget_checked(team)
    return jobs


def start_button(job, button, author, api_token=None):
    """Like start_generation for one U/V child of a finished image. Returns the child job.

    No moderation here: a button sends Akool no prompt, only the id of an image whose prompt
    was checked when it was made."""
    cost = estimate_button_credits(button, job.generation.resolution)
    with transaction.atomic():
        team = budgets.reserve(job.team, author, cost, api_token)
        budgets.check_roles(team, author, api_token, button=button)
        child = job.make_button_child(button, author, api_token)
        enqueue(submit_button, child.pk)
    budget_checked(team)
    return child


def retry(job, author):
    """A failed, unknown or expired job asks again: fresh jobs, never the old one resent.
    Returns the new jobs; raises ValueError with the reason when a retry cannot succeed
    (`Job.retry_refusal`)."""
    if job.retry_refusal:
        raise ValueError(job.retry_refusal)
    if job.button:
        return [start_button(job.parent, job.button, author)]
    copy = job.generation.copy(author, batch=1, save=False)
    return start_generation(copy, save=lambda: _saved(copy))


def _saved(generation):
    generation.save()
    return generation


def apply_webhook(team, result):
    """Move the job a verified, decoded webhook speaks of. Safe to race with the poller.
    False when the team has no such job."""
    job = Job.objects.filter(team=team, akool_id=result.id).select_related("team").first()
    if job is None:
        # Perhaps the create answer naming this id is not recorded yet: keep it for that step.
        early_webhooks.park(team.pk, result)
        return False
    apply_status(job, result)
    return True
