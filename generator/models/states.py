"""The states a job moves through, and the groups of them the pipeline and the pages ask about."""

from django.db import models


class State(models.TextChoices):
    DRAFT = "draft", "Waiting to be sent"
    SUBMITTING = "submitting", "Sending"
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    STORING = "storing", "Storing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    EXPIRED = "expired", "Expired"


PENDING_STATES = (State.DRAFT, State.SUBMITTING, State.QUEUED, State.PROCESSING, State.STORING)
# Finished without an image: a card that can be retried or dismissed.
SETTLED_UNWELL = (State.FAILED, State.UNKNOWN, State.EXPIRED)
# Every end state: a job here is finished, well or not.
SETTLED = (State.DONE, *SETTLED_UNWELL)
# States whose job exists at Akool and is followed by polling.
FOLLOWED_STATES = (State.QUEUED, State.PROCESSING)
