"""What a person asks for: one generation, its options, and the jobs it starts."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .teams import Team


class Mode(models.TextChoices):
    TEXT = "t2i", "Text to image"
    IMAGE = "i2i", "Image to image"


class Scale(models.TextChoices):
    SQUARE = "1:1", "1:1 square"
    LANDSCAPE_3_2 = "3:2", "3:2 landscape"
    LANDSCAPE_4_3 = "4:3", "4:3 landscape"
    WIDE = "16:9", "16:9 wide"
    PORTRAIT_2_3 = "2:3", "2:3 portrait"
    PORTRAIT_3_4 = "3:4", "3:4 portrait"
    TALL = "9:16", "9:16 tall"
    ORIGINAL = "Original", "Original (keep the source's shape)"


class Resolution(models.TextChoices):
    HD = "1080p", "1080p"
    UHD = "4k", "4K"


MODEL_FOR_MODE = {
    Mode.TEXT: "wavespeed-ai/flux-krea-dev-lora",
    Mode.IMAGE: "wavespeed-ai/flux-kontext-dev",
}


class Settings(models.Model):
    """The prompt and the settings a generation is made with (shared with the prompt history,
    which puts them back into the form). The source image is not among them."""

    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True, default="")
    mode = models.CharField(max_length=3, choices=Mode.choices, default=Mode.TEXT)
    model_name = models.CharField(max_length=100, blank=True, default="")
    scale = models.CharField(max_length=10, choices=Scale.choices, default=Scale.SQUARE)
    resolution = models.CharField(max_length=5, choices=Resolution.choices, default=Resolution.UHD)
    batch = models.PositiveSmallIntegerField(default=1)
    similar = models.FloatField(null=True, blank=True)

    PARAMETERS = (
        "prompt",
        "negative_prompt",
        "mode",
        "model_name",
        "scale",
        "resolution",
        "batch",
        "similar",
    )

    class Meta:
        abstract = True

    @property
    def parameters(self):
        return {name: getattr(self, name) for name in self.PARAMETERS}


class Generation(Settings):
    """What a person asked for: one create call to Akool, producing `batch` jobs."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="generations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="generations"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The URL Akool fetches the source from (a public URL, or our signed URL for an upload).
    source_url = models.URLField(max_length=2000, blank=True, default="")
    source_upload = models.FileField(upload_to="sources/%Y/%m/", blank=True, default="")
    # The team preset it was started from (its prompt here is the filled-in one).
    preset = models.ForeignKey(
        "generator.PromptPreset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generations",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.prompt[:60]

    @property
    def effective_model(self):
        return self.model_name or MODEL_FOR_MODE[self.mode]

    def create_jobs(self, count=None, api_token=None):
        """One draft job per image (charged to `api_token` when an API call starts them).
        Their next_poll_at is a safety net: if the queued submit
        task were lost, the follower sends it a minute later (the claim stops duplicates)."""
        from ..pricing import credits_per_image
        from .jobs import Job

        retry_at = timezone.now() + timedelta(seconds=60)
        estimate = credits_per_image(self.resolution)
        return Job.objects.bulk_create(
            Job(
                generation=self,
                team=self.team,
                author=self.author,
                index=i,
                created_at=self.created_at,
                next_poll_at=retry_at,
                estimated_credit=estimate,
                api_token=api_token,
            )
            for i in range(count or self.batch)
        )

    def copy(self, author, batch=None, save=True):
        """A new generation with the same parameters (for "retry" and "re-run"); not stored
        yet with `save=False`."""
        from ..source_links import refresh

        copy = Generation(
            **{**self.parameters, "batch": batch or self.batch},
            team=self.team,
            author=author,
            source_upload=self.source_upload,
            # A link of ours to a source image expires; the copy is sent now, with a fresh one.
            source_url=refresh(self.source_url, self.team),
        )
        if save:
            copy.save()
        return copy
