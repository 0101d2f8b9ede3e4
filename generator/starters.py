"""Starting paid work from a request: the request-side halves of the pipeline.

Each starter checks the team's role rules, reserves the estimated cost against the budgets,
creates the draft jobs and queues the one create call, all in one transaction: the budget lock
is held until the jobs that use it exist, so two people submitting at once cannot jointly
overshoot. The enqueued halves (tasks.py) take it from there.
"""

from django.db import transaction

from . import budgets, early_webhooks
from .models import Job, PromptHistory
from .notify.events import budget_checked
from .pricing import estimate_button_credits, estimate_credits
from .queue import enqueue
from .tasks import apply_status, submit_button, submit_generation


def start_generation(generation, save=None, board=None):
    """1. Check the role rules and reserve the estimate (raises RoleNotAllowed /
    BudgetExceeded, both ValueErrors with a sentence for the person). 2. `save()` a generation
    that is not stored yet, so a refused request stores nothing, not even its upload; `save`
    returns the stored generation. 3. Create its draft jobs (on `board` too, when given, in
    the same transaction, so a board's live page sees them as they appear), note the prompt
    in its author's history and queue its single create call. Returns the jobs."""
    cost = estimate_credits(generation.resolution, generation.batch)
    with transaction.atomic():
        team = budgets.reserve(generation.team, generation.author, cost)
        budgets.check_roles(
            team,
            generation.author,
            resolution=generation.resolution,
            batch=generation.batch,
            mode=generation.mode,
        )
        if save is not None:
            generation = save()
        jobs = generation.create_jobs()
        if board is not None:
            board.add_jobs(jobs, generation.author)
        PromptHistory.record(generation)
        enqueue(submit_generation, generation.pk)
    budget_checked(team)
    return jobs


def start_button(job, button, author):
    """Like start_generation for one U/V child of a finished image. Returns the child job."""
    cost = estimate_button_credits(button, job.generation.resolution)
    with transaction.atomic():
        team = budgets.reserve(job.team, author, cost)
        budgets.check_roles(team, author, button=button)
        child = job.make_button_child(button, author)
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
    return start_generation(job.generation.copy(author, batch=1))


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
