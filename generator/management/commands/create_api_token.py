"""Make a personal API token from the command line (for scripts and the README's example)."""

from django.core.management.base import BaseCommand, CommandError

from generator.api_tokens import issue_token
from generator.models import Membership, Scope, TokenKind


class Command(BaseCommand):
    help = "Make a personal API token for a member of a team and print it (shown only here)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--team", help="The team's name (default: the person's first team).")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--scope", choices=Scope.values, default=Scope.GENERATE)

    def handle(self, *args, email, team, name, scope, **options):
        memberships = Membership.objects.filter(user__email__iexact=email).select_related(
            "team", "user"
        )
        if team:
            memberships = memberships.filter(team__name=team)
        membership = memberships.order_by("joined_at").first()
        if membership is None:
            raise CommandError(f"{email} is not a member of {team or 'any team'}.")
        user = membership.user
        _, secret = issue_token(
            user, kind=TokenKind.PERSONAL, user=user, team=membership.team, name=name, scope=scope
        )
        self.stdout.write(secret)
