"""Fill the gallery with many finished images, for benchmarks and for trying the UI at scale.

    manage.py seed_gallery --images 100000 --teams 3

Rows are written with bulk_create in batches; the image files are a handful of real WebP/PNG
files written once under MEDIA_ROOT/seed/ and shared by every row, so 100,000 images cost
seconds and a few hundred kilobytes of disk, not gigabytes. Running it again tops each team up
to its share of --images (older images are added below the existing ones). Each team's images
are spread evenly over the last --days days (a year by default), as a real gallery would be.

It also makes a user (--email/--password) who owns every seeded team, and, with --pending N,
N in-progress cards at the top of the first team (what the gallery's live poller asks about).
"""

import io
import itertools
import random
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from generator.models import Generation, Job, Membership, Mode, Role, State, Team, User
from generator.sandbox.accounts import provision_account

TEAM_PREFIX = "Seed team"
SUBJECTS = (
    "lighthouse",
    "harbour",
    "fox",
    "teapot",
    "city skyline",
    "mountain lake",
    "robot",
    "bicycle",
    "orchard",
    "library",
    "desert caravan",
    "koi pond",
)
STYLES = ("watercolour", "isometric", "oil painting", "35 mm photo", "pencil sketch", "low poly")
LIGHT = ("at dawn", "at dusk", "under neon", "in fog", "at noon", "by candlelight")
SCALES = ("1:1", "16:9", "3:4", "2:3")
# (long side, file count): the few real files every row points at.
FILE_VARIANTS = 4


def _files():
    """Write (once) and return FILE_VARIANTS sets of real original/thumbnail/preview files."""
    from PIL import Image, ImageDraw

    sets = []
    for i in range(FILE_VARIANTS):
        names = {
            "original": f"seed/original-{i}.png",
            "thumbnail": f"seed/thumb-{i}.webp",
            "preview": f"seed/preview-{i}.webp",
        }
        colour = ((60 * i) % 255, (120 + 40 * i) % 255, (200 - 30 * i) % 255)
        for kind, long_side in (("original", 1920), ("thumbnail", 400), ("preview", 1440)):
            if default_storage.exists(names[kind]):
                continue
            image = Image.new("RGB", (long_side, long_side), colour)
            draw = ImageDraw.Draw(image)
            for k in range(12):
                r = long_side // (3 + k)
                draw.ellipse(
                    (k * r // 2, k * r // 3, k * r // 2 + r, k * r // 3 + r), fill=(k * 20,) * 3
                )
            out = io.BytesIO()
            image.save(out, "PNG" if kind == "original" else "WEBP", quality=80)
            default_storage.save(names[kind], io.BytesIO(out.getvalue()))
        sets.append(names)
    return sets


def _prompt(rng):
    return f"{rng.choice(SUBJECTS)} {rng.choice(LIGHT)}, {rng.choice(STYLES)}"


class Command(BaseCommand):
    help = "Seed many finished gallery images (rows plus a few shared real files)."

    def add_arguments(self, parser):
        parser.add_argument("--images", type=int, default=100_000, help="total, across teams")
        parser.add_argument("--teams", type=int, default=3)
        parser.add_argument("--batch", type=int, default=4, help="images per generation")
        parser.add_argument("--email", default="seed@example.com")
        parser.add_argument("--password", default="", help="default: leave the password as is")
        parser.add_argument("--pending", type=int, default=0, help="in-progress cards, team 1")
        parser.add_argument(
            "--days",
            type=float,
            default=365,
            help="spread each team's images evenly over this many days back from now",
        )
        parser.add_argument("--rows-per-insert", type=int, default=2000)

    def handle(self, *args, **opts):
        if opts["teams"] < 1 or opts["images"] < 0 or not 1 <= opts["batch"] <= 4:
            raise CommandError("Need --teams >= 1, --images >= 0 and --batch between 1 and 4.")
        user, _ = User.objects.get_or_create(email=opts["email"], defaults={"name": "Seed"})
        if opts["password"]:
            user.set_password(opts["password"])
            user.save()
        files = _files()
        share, extra = divmod(opts["images"], opts["teams"])
        for t in range(opts["teams"]):
            team = self._team(t + 1, user)
            added = self._top_up(team, user, share + (t < extra), opts, files)
            self.stdout.write(f"{team.name}: +{added} images ({team.code})")
        first = Team.objects.get(name=f"{TEAM_PREFIX} 1")
        self._pending(first, user, opts["pending"])
        if user.current_team_id is None:
            user.current_team = first
            user.save(update_fields=["current_team"])

    def _team(self, number, user):
        team = Team.objects.filter(name=f"{TEAM_PREFIX} {number}").first()
        if team is None:
            team = Team(name=f"{TEAM_PREFIX} {number}")
            if settings.AKOOL_SANDBOX:
                team.use_sandbox(provision_account())
            team.save()
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})
        return team

    def _top_up(self, team, user, target, opts, files):
        have = Job.objects.filter(team=team, state=State.DONE).count()
        missing = target - have
        if missing <= 0:
            return 0
        rng = random.Random(f"{team.pk}-{have}")
        oldest = (
            Job.objects.filter(team=team)
            .order_by("created_at")
            .values_list("created_at", flat=True)
        ).first()
        # A real gallery of N images took months to make; the spread matters to queries that
        # look at one month (the team's budget), not to the gallery's keyset pages.
        batch, per_insert = opts["batch"], opts["rows_per_insert"]
        step = timedelta(days=opts["days"]) / max(-(-target // batch), 1)
        start = (oldest or timezone.now()) - step
        made, counter = 0, itertools.count()
        while made < missing:
            n_gens = min(per_insert // batch, -(-(missing - made) // batch))
            with transaction.atomic():
                gens = Generation.objects.bulk_create(
                    Generation(
                        team=team,
                        author=user,
                        created_at=start - step * next(counter),
                        prompt=_prompt(rng),
                        mode=Mode.TEXT,
                        scale=rng.choice(SCALES),
                        resolution="4k" if rng.random() < 0.25 else "1080p",
                        batch=batch,
                    )
                    for _ in range(n_gens)
                )
                jobs = []
                for gen in gens:
                    for index in range(min(batch, missing - made)):
                        f = files[rng.randrange(len(files))]
                        jobs.append(
                            Job(
                                generation=gen,
                                team=team,
                                author=user,
                                index=index,
                                state=State.DONE,
                                akool_status=3,
                                created_at=gen.created_at,
                                completed_at=gen.created_at + timedelta(seconds=30),
                                stored_at=gen.created_at + timedelta(seconds=31),
                                original=f["original"],
                                thumbnail=f["thumbnail"],
                                preview=f["preview"],
                                original_bytes=2_000_000,
                                width=1920,
                                height=1920,
                                format="PNG",
                                thumb_width=400,
                                thumb_height=400,
                                placeholder_color="#557799",
                            )
                        )
                        made += 1
                Job.objects.bulk_create(jobs, batch_size=per_insert)
        return made

    def _pending(self, team, user, count):
        """Exactly `count` processing jobs at the top of `team` (an old run's are reused)."""
        pending = list(Job.objects.filter(team=team, state=State.PROCESSING).order_by("pk"))
        if len(pending) >= count:
            return
        gen = Generation.objects.create(
            team=team, author=user, prompt=f"{SUBJECTS[0]} still in progress", batch=4
        )
        now = timezone.now()
        Job.objects.bulk_create(
            Job(
                generation=gen,
                team=team,
                author=user,
                index=i % 4,
                state=State.PROCESSING,
                created_at=now,
                submitted_at=now,
                # Far in the future: a worker (if any runs on this database) leaves them alone.
                next_poll_at=now + timedelta(days=365),
            )
            for i in range(count - len(pending))
        )
