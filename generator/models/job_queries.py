"""The queries over jobs: what a listing may show (`kept`), the gallery's cards and keyset pages,
an image's neighbours, and what the follower has due."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .states import FOLLOWED_STATES, State


# The redundant leading range (created_at <= / >=) lets the (team, -created_at, -id) index seek
# straight to the cursor; with the OR alone SQLite walks the index from the newest image, so a
# page deep in a large gallery cost several times the first (tests/benchmarks/gallery.py).
def _older_than(created_at, pk):
    return Q(created_at__lte=created_at) & (
        Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
    )


def _newer_than(created_at, pk):
    return Q(created_at__gte=created_at) & (
        Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)
    )


def kept(prefix=""):
    """The one rule for "not in the trash", as a condition on a path to Job (`prefix`, e.g.
    "entries__job__"), for the places that count through a relation. Every listing of a
    team's images (gallery, search, boards, share links, ZIPs, the live poller) applies it,
    through `JobQuerySet.kept()` where it queries jobs directly."""
    return Q(**{f"{prefix}trashed_at__isnull": True})


class JobQuerySet(models.QuerySet):
    def kept(self):
        """Jobs not in the trash (see `kept`)."""
        return self.filter(kept())

    def in_trash(self):
        return self.exclude(kept())

    def stored(self):
        """Jobs with files in storage (the trash's included, until purged)."""
        return self.exclude(original="")

    def gallery(self, team, user):
        """Every job a gallery may show, with what a card needs in the same query."""
        return self.kept().filter(team=team, dismissed=False).for_cards(user)

    def for_cards(self, user):
        """What a card shows besides the job's row: its generation, author and `user`'s star."""
        return self.select_related("generation", "author").annotate(
            starred=models.Exists(self._stars().filter(user=user, job=models.OuterRef("pk")))
        )

    def _stars(self):
        # Favourite points at Job, so it is declared after Job (and after this QuerySet):
        # reached through the relation rather than imported.
        return self.model._meta.get_field("favourites").related_model.objects

    def keyset_page(self, cursor=None, size=24):
        """One page, newest first, after `cursor` (a (created_at, id) pair), and whether
        another page follows.

        Keyset, never OFFSET: the (team, -created_at, -id) index finds the page's start
        directly, so page 40 costs what page 1 costs, and images arriving meanwhile never shift
        a page."""
        jobs = self.filter(_older_than(*cursor)) if cursor else self
        rows = list(jobs.order_by("-created_at", "-id")[: size + 1])
        return rows[:size], len(rows) > size

    def neighbours(self, job):
        """The codes of the images before (newer) and after (older) `job` in this set."""
        newer = (
            self.filter(_newer_than(job.created_at, job.pk))
            .order_by("created_at", "id")
            .values_list("code", flat=True)
            .first()
        )
        older = (
            self.filter(_older_than(job.created_at, job.pk))
            .order_by("-created_at", "-id")
            .values_list("code", flat=True)
            .first()
        )
        return newer, older

    def due_for_poll(self, now=None):
        """Jobs to ask Akool about: those in flight, and finished ones whose buttons a
        webhook could not tell (webhooks carry none)."""
        now = now or timezone.now()
        return self.filter(
            Q(state__in=FOLLOWED_STATES) | Q(state=State.DONE, buttons__isnull=True),
            next_poll_at__lte=now,
        )

    def due_for_submit(self, now=None):
        now = now or timezone.now()
        return self.filter(state=State.DRAFT, next_poll_at__lte=now)

    def lease_expired(self, now=None):
        """Steps a worker claimed and never finished (it crashed or was killed)."""
        now = now or timezone.now()
        return self.filter(state__in=(State.SUBMITTING, State.STORING), lease_until__lt=now)
