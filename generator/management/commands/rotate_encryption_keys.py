"""Re-encrypt every stored secret (Akool credentials, notification channels' addresses and
signing secrets) under the newest FIELD_ENCRYPTION_KEYS key.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run this
command, then drop the old keys.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from generator.lib.crypto import DecryptionError
from generator.models import Channel, Team


class Command(BaseCommand):
    help = (
        "Re-encrypt every team's API key and clientId, and every notification channel's "
        "address and signing secret, with the newest encryption key."
    )

    def handle(self, *args, **options):
        count = 0
        try:
            with transaction.atomic():
                # Reading decrypts with whichever configured key fits; saving encrypts with
                # the first (newest) one.
                teams = Team.objects.exclude(api_key="", client_id="").select_for_update()
                # A plain list, not .iterator(): on PostgreSQL a server-side cursor left open by
                # a DecryptionError mid-way would poison the rolled-back transaction.
                for team in list(teams):
                    team.decrypt_credentials()
                    team.save(update_fields=["api_key", "client_id"])
                    count += 1
                channels = list(Channel.objects.select_for_update())
                for channel in channels:
                    # Reading each value decrypts it, so saving writes it afresh.
                    channel.target, channel.signing_secret = channel.target, channel.signing_secret
                    channel.save(update_fields=["target", "signing_secret"])
        except DecryptionError as exc:
            raise CommandError(
                f"{exc} Nothing was changed. Keep every key still in use in "
                "FIELD_ENCRYPTION_KEYS (newest first) and run this again."
            ) from None
        noun = "team" if count == 1 else "teams"
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the credentials of {count} {noun}."))
        if channels:
            self.stdout.write(f"Re-encrypted {len(channels)} notification channel(s).")
