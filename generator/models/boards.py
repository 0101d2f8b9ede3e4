"""Team boards (collections of images) and tags: a job can be on several boards and carry
several tags; both belong to one team and are named uniquely within it (case aside)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from ..lib.text import one_line
from .jobs import Job
from .teams import Team

BOARD_NAME_MAX = 80
TAG_NAME_MAX = 50


def clean_tag_name(text):
    """A tag as typed, on one line (lib/text.one_line); "" when nothing is left."""
    return one_line(text, TAG_NAME_MAX)


def _link(through, field, owner, jobs, user):
    """Link `jobs` to `owner` (a board or tag) through the `through` rows, by `user`; jobs
    linked already stay as they were. Returns the jobs newly linked."""
    present = set(
        through.objects.filter(**{field: owner}, job__in=jobs).values_list("job_id", flat=True)
    )
    added = [job for job in jobs if job.pk not in present]
    through.objects.bulk_create(
        [through(**{field: owner}, job=job, added_by=user) for job in added],
        ignore_conflicts=True,
    )
    return added


class BoardQuerySet(models.QuerySet):
    def for_image(self, team, job):
        """The team's boards, each with `has_image`: whether `job` is on it."""
        on = BoardImage.objects.filter(board=models.OuterRef("pk"), job=job)
        return self.filter(team=team).annotate(has_image=models.Exists(on))


class Board(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=BOARD_NAME_MAX)
    description = models.TextField(blank=True, default="", max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    jobs = models.ManyToManyField(Job, through="BoardImage", related_name="boards")

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "team", name="board_name_per_team"),
        ]

    def __str__(self):
        return self.name

    def add_jobs(self, jobs, user):
        """Put `jobs` on this board; returns those that were not on it yet."""
        return _link(BoardImage, "board", self, jobs, user)

    def remove_job(self, job):
        """Take `job` off this board; True when it was on it."""
        deleted, _ = BoardImage.objects.filter(board=self, job=job).delete()
        return bool(deleted)


class Added(models.Model):
    """Who put an image on a board or tagged it, and when."""

    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class BoardImage(Added):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="entries")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="board_entries")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["board", "job"], name="board_image_once")]

    def __str__(self):
        return f"{self.job_id} on {self.board}"


class TagQuerySet(models.QuerySet):
    def names(self, team):
        """The team's tag names, for autocomplete."""
        return list(self.filter(team=team).values_list("name", flat=True))

    def named(self, team, name):
        """The team's tag `name` (any case), made when it does not exist yet."""
        tag = self.filter(team=team, name__iexact=name).first()
        return tag or self.create(team=team, name=name)


class Tag(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=TAG_NAME_MAX)
    jobs = models.ManyToManyField(Job, through="JobTag", related_name="tags")

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(Lower("name"), "team", name="tag_name_per_team")]

    def __str__(self):
        return self.name

    def add_jobs(self, jobs, user):
        """Tag `jobs`; returns those that did not carry the tag yet."""
        return _link(JobTag, "tag", self, jobs, user)


class JobTag(Added):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="entries")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tag_entries")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "job"], name="job_tag_once")]

    def __str__(self):
        return f"{self.tag} on {self.job_id}"
