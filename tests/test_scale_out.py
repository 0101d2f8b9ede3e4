"""Scale-out: two `qcluster` processes share one PostgreSQL database and one Redis queue, and a
batch of generations is still processed exactly once: one paid create call per generation, one
stored copy of each image.

Needs PostgreSQL and Redis (CI's second pass sets DATABASE_URL and REDIS_URL); SQLite with the
ORM broker is the single-host profile and is not what this shows.
"""

import os
import re
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import Count

from generator.models import PENDING_STATES, Job, State
from generator.sandbox.models import SandboxJob, SandboxRequest
from generator.starters import start_generation
from tests.factories import make_generation
from tests.fixtures_pipeline import wait_for

pytestmark = [
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="scale-out needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
]

GENERATIONS = 12
BATCHES = [2, 3, 4]  # 12 generations, 36 images
# django-q2 logs one line per task a worker process picks up.
PROCESSING = re.compile(r"processing \S+ '(?P<name>[\w.]+)'")


@pytest.fixture
def team(pipeline_team):
    return pipeline_team


def media_files(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_two_clusters_process_a_batch_exactly_once(team, start_worker, monkeypatch):
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.status import Stat

    # Cluster stats live under a key made from the queue name at import; follow the test's name.
    monkeypatch.setattr(Conf, "Q_STAT", f"django_q:{Conf.PREFIX}:cluster")

    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    assert "redis" in settings.Q_CLUSTER
    first, second = start_worker(Q_WORKERS="2"), start_worker(Q_WORKERS="2")
    # Both clusters register in Redis before any work is queued, so both can take some.
    wait_for(
        lambda: len(Stat.get_all(get_broker())) >= 2,
        timeout=60,
        message=f"two clusters to report in; logs:\n{first.output()}\n{second.output()}",
    )

    author = team.memberships.get().user
    batches = [BATCHES[i % len(BATCHES)] for i in range(GENERATIONS)]
    for i, batch in enumerate(batches):
        generation = make_generation(
            team, author, f"scale-out harbour {i}", batch=batch, resolution="1080p"
        )
        start_generation(generation)

    jobs = Job.objects.filter(team=team)
    wait_for(
        lambda: not jobs.filter(state__in=PENDING_STATES).exists(),
        timeout=240,
        message="every job to settle",
    )

    assert jobs.count() == sum(batches)
    assert set(jobs.values_list("state", flat=True)) == {State.DONE}
    # Exactly one create call per generation (the paid request), asking for its batch.
    creates = SandboxRequest.objects.filter(kind=SandboxRequest.Kind.CREATE)
    assert creates.count() == GENERATIONS
    per_prompt = dict(
        SandboxJob.objects.filter(parent=None).values_list("prompt").annotate(n=Count("id"))
    )
    assert per_prompt == {f"scale-out harbour {i}": b for i, b in enumerate(batches)}
    # Each image's result was downloaded once and stored once: three files per image, each
    # the one its row names, and no second copy left anywhere.
    downloads = Counter(
        SandboxRequest.objects.filter(kind=SandboxRequest.Kind.DOWNLOAD).values_list(
            "job_id", flat=True
        )
    )
    assert len(downloads) == sum(batches) and set(downloads.values()) == {1}
    named = sorted(field.name for job in jobs for field in job.stored_files)
    assert media_files(settings.MEDIA_ROOT) == named
    assert len(set(jobs.values_list("sha256", flat=True))) == sum(batches)

    # Both processes did part of the work (each logs the tasks it picked up).
    logs = [first.output(), second.output()]
    picked = [Counter(m["name"] for m in PROCESSING.finditer(log)) for log in logs]
    assert all(sum(counts.values()) > 0 for counts in picked), logs
    stores = sum(counts.get("generator.tasks.store_job", 0) for counts in picked)
    assert stores >= sum(batches)
