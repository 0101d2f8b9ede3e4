"""The one door to the task queue, so the queue can change in one file."""

from django.db import transaction
from django_q.tasks import async_task


def enqueue(func, *args):
    """Queue `func(*args)` once the surrounding transaction commits.

    Tasks reload their rows by id; queueing before commit would let a fast worker look for a
    row that is not visible yet.
    """
    path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    transaction.on_commit(lambda: async_task(path, *args))
