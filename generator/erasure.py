"""Erasing a person's data on a data-protection request: their images (files and rows, trash
included), their prompts (generations and prompt history), and their name and address in the
audit log. Run by a superuser (`manage.py erase_person`, or the admin's action on people).

The account itself stays: deleting it is a separate, ordinary step in the admin (memberships
and ownership need a person's decision). Images teammates made from the person's images (U/V)
are the teammates' and stay, but the prompt they share with the erased generation is blanked.
"""

from dataclasses import dataclass

from django.db import transaction

from . import audit
from .models import AuditEntry, Generation, Job, PromptHistory, Team
from .trash import purge


@dataclass
class Erasure:
    images: int
    prompts: int
    history: int
    audit_entries: int = 0


def plan(user):
    """What erasing `user` would remove (the confirmation shows it)."""
    return Erasure(
        images=Job.objects.filter(author=user).count(),
        prompts=Generation.objects.filter(author=user).count(),
        history=PromptHistory.objects.filter(user=user).count(),
    )


def erase_person(user, by=None):
    """Erase `user`'s images, prompts and audit identity; `by` is the superuser asking.
    Files go once the transaction commits. Returns the Erasure done."""
    with transaction.atomic():
        teams = list(
            Team.objects.filter(pk__in=Job.objects.filter(author=user).values("team_id"))
            | Team.objects.filter(memberships__user=user)
        )
        done = plan(user)
        purge(Job.objects.select_for_update().filter(author=user))
        generations = Generation.objects.filter(author=user)
        sources = [name for name in generations.values_list("source_upload", flat=True) if name]
        # A teammate's upscale of the person's image keeps its file, not the person's prompt.
        generations.filter(jobs__isnull=False).update(
            prompt="", negative_prompt="", source_url="", author=None
        )
        generations.filter(jobs__isnull=True).delete()
        PromptHistory.objects.filter(user=user).delete()
        done.audit_entries = AuditEntry.anonymise(user)
        for team in {team.pk: team for team in teams}.values():
            audit.record(
                by,
                team,
                audit.AuditAction.PERSON_ERASED,
                target=AuditEntry.ERASED,
                images=done.images,
                prompts=done.prompts,
            )
        if sources:
            from .trash import delete_files

            kept = set(
                Generation.objects.filter(source_upload__in=sources).values_list(
                    "source_upload", flat=True
                )
            )
            gone = [name for name in sources if name not in kept]
            transaction.on_commit(lambda: delete_files(gone))
    return done
