"""Make sure a demo account and its sandbox team exist (safe to run on every start)."""

import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from generator.models import Backend, Membership, Role, Team, User
from generator.sandbox.accounts import provision_account

DEMO_EMAIL = "demo@example.com"
DEMO_TEAM = "Demo team"


class Command(BaseCommand):
    help = "Create or refresh the demo account (demo@example.com) and its sandbox team."

    def handle(self, *args, **options):
        # A fresh random password every run unless one is given, so the printed one works.
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        with transaction.atomic():
            user, created = User.objects.get_or_create(email=DEMO_EMAIL, defaults={"name": "Demo"})
            user.set_password(password)
            user.is_active = True
            # The demo login also opens the Django admin on a development install (DEBUG on), where
            # it is printed to the console anyway; anywhere else it stays an ordinary account.
            user.is_staff = user.is_superuser = settings.DEBUG
            user.save()

            membership = (
                Membership.objects.filter(user=user, role=Role.OWNER, team__name=DEMO_TEAM)
                .select_related("team")
                .first()
            )
            if membership is None:
                team = Team(name=DEMO_TEAM)
                if settings.AKOOL_SANDBOX:
                    team.use_sandbox(provision_account())
                else:
                    team.backend = Backend.AKOOL
                team.save()
                Membership.objects.create(team=team, user=user, role=Role.OWNER)
                self.stdout.write(f"Created the team {DEMO_TEAM!r}.")
            else:
                team = membership.team
            if user.current_team_id is None:
                user.current_team = team
                user.save(update_fields=["current_team"])

        if created:
            self.stdout.write("Created the demo account.")
        if not team.has_credentials:
            self.stdout.write(
                "The demo team has no Akool key (AKOOL_SANDBOX is off); add one in its settings."
            )
        self.stdout.write(self.style.SUCCESS(f"Demo login: {DEMO_EMAIL} / {password}"))
        if user.is_staff:
            self.stdout.write("The same login opens the Django admin at /admin/.")
