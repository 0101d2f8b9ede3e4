"""The one place tests make users, teams, generations and jobs.

Plain functions with the model's own defaults; a test passes the fields its meaning rests on.

- `make_user(email, team=None, role=..., name="")`: a user with the shared test password,
  a member of `team` (its current team) when given.
- `make_membership(team, user, role=...)`: `user` joins another team.
- `make_team(name="Team", sandbox=False, **fields)`; `on_sandbox(team)` switches a team to
  the built-in sandbox with fresh emulator credentials; `make_akool_team(name, api_key,
  client_id)` is a team on Akool itself.
- `make_generation(team, author=None, prompt=..., **fields)`.
- `make_job(team=None, author=None, generation=None, **fields)`: a job row of `generation`
  (one made for `team` by `author` when not given).
- `make_generated_job(team, author=None, prompt=..., **changes)`: the job a one-image
  generation makes (`Generation.create_jobs`), then moved on by `changes` as a worker would
  have left it (state, akool_id, ...).
- `make_image(team, author, ...)`: a gallery card: a finished image with its sizes (small
  fake files with `files=True`), or a pending or failed one with `state=`.
- `make_charged_job(team, author, when, credit, ...)`: a job of `when` that Akool charged
  `credit` for (usage and budgets).
"""

import io
from functools import cache

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from generator.models import (
    Backend,
    Generation,
    Job,
    Membership,
    Mode,
    Resolution,
    Role,
    State,
    Team,
    User,
)

PASSWORD = "correct-horse-battery-staple"

__all__ = [
    "PASSWORD",
    "make_akool_team",
    "make_charged_job",
    "make_generated_job",
    "make_generation",
    "make_image",
    "make_job",
    "make_membership",
    "make_team",
    "make_user",
    "on_sandbox",
]


@cache
def _password_hash():
    # Hashing is slow on purpose; hash the shared test password once per run.
    return make_password(PASSWORD)


def make_user(email, team=None, role=Role.MEMBER, name=""):
    user = User.objects.create_user(email, None, name=name)
    user.password = _password_hash()
    user.save(update_fields=["password"])
    if team is not None:
        make_membership(team, user, role)
        user.current_team = team
        user.save(update_fields=["current_team"])
    return user


def make_membership(team, user, role=Role.MEMBER):
    return Membership.objects.create(team=team, user=user, role=role)


def make_team(name="Team", *, sandbox=False, **fields):
    team = Team.objects.create(name=name, **fields)
    return on_sandbox(team) if sandbox else team


def make_akool_team(name="Team", api_key="k" * 32, client_id=""):
    """A team on Akool itself, with a key (no test reaches Akool)."""
    team = Team(name=name, backend=Backend.AKOOL)
    team.set_credentials(api_key, client_id)
    team.save()
    return team


def on_sandbox(team):
    from generator.sandbox.accounts import provision_account

    team.use_sandbox(provision_account())
    team.save()
    return team


def make_generation(team, author=None, prompt="a red kite over hills", **fields):
    return Generation.objects.create(team=team, author=author, prompt=prompt, **fields)


def make_job(team=None, author=None, *, generation=None, **fields):
    if generation is None:
        generation = make_generation(team, author)
    return Job.objects.create(
        generation=generation,
        team=team or generation.team,
        author=author if author is not None else generation.author,
        **fields,
    )


def make_generated_job(team, author=None, prompt="a red kite over hills", **changes):
    generation = make_generation(team, author, prompt, batch=1)
    job = generation.create_jobs()[0]
    if changes:
        Job.objects.filter(pk=job.pk).update(**changes)
        job.refresh_from_db()
    return job


def image_bytes(fmt, size, color="teal"):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


# What the worker records about a stored image, in small numbers.
_STORED = {
    "width": 80,
    "height": 60,
    "thumb_width": 40,
    "thumb_height": 30,
    "format": "PNG",
    "original_bytes": 1234,
    "deduction_credit": 2,
}


def make_image(
    team,
    author,
    prompt="a red kite over hills",
    state=State.DONE,
    created_at=None,
    files=False,
    mode=Mode.TEXT,
    resolution=Resolution.UHD,
    buttons=(),
    parent=None,
    button="",
    error_message="",
):
    created_at = created_at or timezone.now()
    source = (
        {"source_url": "https://images.example.com/s.png", "similar": 0.5}
        if mode == Mode.IMAGE
        else {}
    )
    job = make_job(
        team,
        author,
        generation=parent.generation
        if parent
        else make_generation(
            team, author, prompt, mode=mode, resolution=resolution, created_at=created_at, **source
        ),
        state=state,
        created_at=created_at,
        buttons=list(buttons),
        parent=parent,
        button=button,
        error_message=error_message,
        placeholder_color="#336699",
        **(_STORED if state == State.DONE else {}),
    )
    if files:
        job.original.save(f"{job.code}.png", ContentFile(image_bytes("PNG", (80, 60))), save=False)
        thumb = image_bytes("WEBP", (40, 30))
        job.thumbnail.save(f"{job.code}.webp", ContentFile(thumb), save=False)
        job.preview.save(f"{job.code}.webp", ContentFile(thumb), save=False)
        # What the worker records: the real sizes of the files it wrote.
        job.stored_bytes = sum(field.size for field in job.stored_files)
        job.save()
    return job


def make_charged_job(
    team,
    author,
    when,
    credit,
    *,
    state=State.DONE,
    mode=Mode.TEXT,
    resolution=Resolution.HD,
    estimated=1,
):
    generation = make_generation(
        team, author, "p", mode=mode, resolution=resolution, created_at=when
    )
    return make_job(
        generation=generation,
        state=state,
        deduction_credit=credit,
        estimated_credit=estimated,
        created_at=when,
    )
