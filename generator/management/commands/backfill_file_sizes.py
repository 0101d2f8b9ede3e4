"""Record the stored size of images stored before sizes were recorded (Job.stored_bytes), so
the storage figures count them. Reads each file's size from storage (a HEAD request on S3);
safe to run again: it only looks at rows still without a size."""

from django.core.management.base import BaseCommand

from generator.lib.storage import STORAGE_ERRORS
from generator.models import Job

BATCH = 500


class Command(BaseCommand):
    help = "Store the real size of every stored image's files where it is not known yet."

    def handle(self, *args, **options):
        done = missing = 0
        rows = Job.objects.stored().filter(stored_bytes__isnull=True).order_by("pk")
        last = 0
        while batch := list(rows.filter(pk__gt=last)[:BATCH]):
            for job in batch:
                total = 0
                for field in job.stored_files:
                    try:
                        total += field.size
                    except STORAGE_ERRORS:
                        # A file already gone counts as nothing; the rest still count.
                        missing += 1
                Job.objects.filter(pk=job.pk).update(stored_bytes=total)
                done += 1
            last = batch[-1].pk
        self.stdout.write(
            self.style.SUCCESS(f"Recorded the size of {done} images ({missing} files missing).")
        )
