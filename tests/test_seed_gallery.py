"""The seed_gallery command (used by the gallery benchmark): many rows, a few real files."""

from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from generator.models import Job, Membership, Role, State, Team, User


def seed(**options):
    call_command("seed_gallery", stdout=open("/dev/null", "w"), **options)  # noqa: SIM115


def test_seed_spreads_done_images_over_teams_owned_by_the_seed_user(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed(images=10, teams=3, batch=4, email="seed@example.com", password="pw-Seed-918273")
    user = User.objects.get(email="seed@example.com")
    teams = Team.objects.filter(name__startswith="Seed team").order_by("name")
    assert [Job.objects.filter(team=t, state=State.DONE).count() for t in teams] == [4, 3, 3]
    assert set(Membership.objects.filter(user=user).values_list("role", flat=True)) == {Role.OWNER}
    assert user.check_password("pw-Seed-918273") and user.current_team == teams[0]
    job = Job.objects.filter(team=teams[0]).first()
    for field in (job.original, job.thumbnail, job.preview):
        assert default_storage.exists(field.name)


def test_running_again_tops_up_with_older_images_and_keeps_the_pending_count(
    db, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    seed(images=8, teams=1, pending=3)
    newest_before = Job.objects.filter(state=State.DONE).order_by("-created_at").first()
    before = set(Job.objects.filter(state=State.DONE).values_list("pk", flat=True))
    oldest_before = min(Job.objects.filter(pk__in=before).values_list("created_at", flat=True))
    seed(images=20, teams=1, pending=3)
    seed(images=20, teams=1, pending=3)
    assert Job.objects.filter(state=State.DONE).count() == 20
    assert Job.objects.filter(state=State.PROCESSING).count() == 3
    assert Job.objects.filter(state=State.DONE).order_by("-created_at").first() == newest_before
    added = Job.objects.filter(state=State.DONE).exclude(pk__in=before)
    assert added.count() == 12
    assert all(job.created_at < oldest_before for job in added)


def test_the_seeded_gallery_opens_for_the_seed_user(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed(images=30, teams=1, pending=2)
    team = Team.objects.get(name="Seed team 1")
    client = Client()
    client.force_login(User.objects.get(email="seed@example.com"))
    response = client.get(f"/t/{team.code}/")
    assert response.status_code == 200
    assert response.content.count(b'class="job-card') == 24
    thumb = Job.objects.filter(team=team, state=State.DONE).first()
    file_response = client.get(f"/t/{team.code}/images/{thumb.code}/thumb/")
    assert file_response.status_code == 200
    assert b"".join(file_response.streaming_content)[:4] == b"RIFF"
