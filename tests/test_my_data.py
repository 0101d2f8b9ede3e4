"""Data-protection requests: a person exports their own images and prompts from their account
page; a superuser erases a person's images and prompts (files too) and anonymises them in the
audit log, with a dry run first."""

import io
import json
import os
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from generator import audit
from generator.models import (
    AuditAction,
    AuditEntry,
    Generation,
    Job,
    PromptHistory,
)
from tests.factories import make_image, make_user


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def unzip(response):
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- export ----------------------------------------------------------------------------------


def test_a_person_exports_their_own_images_and_prompt_history(
    member_client, member, owner, team_a, team_b
):
    mine = make_image(team_a, member, "a red kite over hills", files=True)
    trashed = make_image(team_a, member, "a heron in the reeds", files=True)
    Job.objects.filter(pk=trashed.pk).update(trashed_at=trashed.created_at)
    make_image(team_a, owner, "the owner's lighthouse", files=True)
    PromptHistory.record(mine.generation)

    page = member_client.get(reverse("my_data"))
    assert "2 images" in page.content.decode()
    response = member_client.post(reverse("my_data_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = unzip(response)
    names = archive.namelist()
    images = [name for name in names if name.endswith(".png")]
    assert len(images) == 2
    assert {"manifest.csv", "manifest.json", "prompt-history.json"} <= set(names)
    manifest = json.loads(archive.read("manifest.json"))
    assert {row["code"] for row in manifest} == {str(mine.code), str(trashed.code)}
    assert {row["prompt"] for row in manifest} == {"a red kite over hills", "a heron in the reeds"}
    assert "the owner's lighthouse" not in archive.read("manifest.csv").decode()
    history = json.loads(archive.read("prompt-history.json"))
    assert [entry["prompt"] for entry in history] == ["a red kite over hills"]
    assert history[0]["team"] == team_a.name
    # Each image in the archive is the stored original with its metadata, intact as a PNG.
    for name in images:
        assert archive.read(name).startswith(b"\x89PNG")


def test_export_needs_a_signed_in_person_and_a_post(client, member_client):
    assert client.post(reverse("my_data_export")).status_code == 302
    assert member_client.get(reverse("my_data_export")).status_code == 405


def test_an_export_too_large_is_refused_with_a_message(settings, member_client, member, team_a):
    make_image(team_a, member, files=True)
    settings.ZIP_MAX_BYTES = 10
    response = member_client.post(reverse("my_data_export"), follow=True)
    assert "more than the" in response.content.decode()


# --- erase -----------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    user = make_user("root@site.example")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


@pytest.fixture
def member_story(team_a, member, owner, django_capture_on_commit_callbacks):
    """The member made images, used prompts, and appears in the audit log by address."""
    jobs = [make_image(team_a, member, f"secret prompt {i}", files=True) for i in range(2)]
    for job in jobs:
        PromptHistory.record(job.generation)
    theirs = make_image(team_a, owner, "the owner's own prompt", files=True)
    audit.record(owner, team_a, AuditAction.ROLE_CHANGED, target=member.email, old="viewer")
    audit.record(member, team_a, AuditAction.IMAGE_DELETED, target="image x", author=member.email)
    return jobs, theirs


def test_the_erase_command_dry_runs_without_confirmation(member_story, member):
    out = io.StringIO()
    call_command("erase_person", member.email, stdout=out)
    assert "Would erase 2 images" in out.getvalue()
    assert Job.objects.filter(author=member).count() == 2
    assert PromptHistory.objects.filter(user=member).count() == 2


def test_erasing_leaves_no_prompt_file_or_address_of_the_person(
    member_story, member, owner, superuser, django_capture_on_commit_callbacks
):
    jobs, theirs = member_story
    files = [field.path for job in jobs for field in job.stored_files]
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "erase_person", member.email, confirm=member.email, by=superuser.email, stdout=out
        )
    assert "Erased 2 images" in out.getvalue()
    assert not Job.objects.filter(author=member).exists()
    assert not any(os.path.exists(path) for path in files)
    assert not Generation.objects.filter(prompt__contains="secret prompt").exists()
    assert not PromptHistory.objects.filter(user=member).exists()
    # Nothing in the log names them any more; what happened, and when, is still there.
    for entry in AuditEntry.objects.all():
        text = json.dumps([entry.actor_email, entry.target, entry.details])
        assert member.email not in text
        assert entry.actor_id != member.pk
    changed = AuditEntry.objects.get(action=AuditAction.ROLE_CHANGED)
    assert changed.target == AuditEntry.ERASED and changed.actor == owner
    erased = AuditEntry.objects.get(action=AuditAction.PERSON_ERASED)
    assert erased.actor == superuser and erased.details == {"images": 2, "prompts": 2}
    # Others' images and prompts stay.
    assert Job.objects.get() == theirs
    assert Generation.objects.filter(prompt="the owner's own prompt").exists()


def test_a_teammates_upscale_keeps_its_file_but_not_the_persons_prompt(
    member_story, member, owner, team_a
):
    jobs, _ = member_story
    child = make_image(team_a, owner, parent=jobs[0], button="U1", files=True)
    call_command("erase_person", member.email, confirm=member.email, stdout=io.StringIO())
    child.refresh_from_db()
    assert child.parent_id is None and os.path.exists(child.original.path)
    assert child.generation.prompt == ""


def test_the_audit_log_stays_append_only_outside_erasure(member_story):
    entry = AuditEntry.objects.first()
    with pytest.raises(Exception, match="cannot be changed"):
        AuditEntry.objects.filter(pk=entry.pk).update(target="x")


def test_an_unknown_address_or_a_non_superuser_is_refused(member_story, member, owner):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No account"):
        call_command("erase_person", "nobody@x.example")
    with pytest.raises(CommandError, match="not a superuser"):
        call_command("erase_person", member.email, confirm=member.email, by=owner.email)
    assert Job.objects.filter(author=member).count() == 2


def test_the_admin_action_asks_first_then_erases(admin_client, member_story, member):
    url = reverse("admin:generator_user_changelist")
    data = {"action": "erase_data", "_selected_action": [member.pk]}
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert "2 images" in page.content.decode() and member.email in page.content.decode()
    assert Job.objects.filter(author=member).count() == 2
    admin_client.post(url, {**data, "confirm": "yes"})
    assert not Job.objects.filter(author=member).exists()
    assert not PromptHistory.objects.filter(user=member).exists()
