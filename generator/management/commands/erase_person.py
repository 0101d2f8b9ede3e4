"""Erase a person's images, prompts and audit identity, on a data-protection request.

    manage.py erase_person person@example.com            # shows what would go, changes nothing
    manage.py erase_person person@example.com --confirm person@example.com --by admin@...

The confirmation repeats the address, so a typo or a pasted wrong line erases nobody.
"""

from django.core.management.base import BaseCommand, CommandError

from generator.erasure import erase_person, plan
from generator.models import User


class Command(BaseCommand):
    help = "Erase a person's images and prompts and anonymise them in the audit log."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The address of the person to erase.")
        parser.add_argument(
            "--confirm", default="", help="The same address again: without it, a dry run."
        )
        parser.add_argument(
            "--by", default="", help="The superuser doing it (named in the audit log)."
        )

    def handle(self, *args, email, confirm, by, **options):
        person = User.objects.filter(email__iexact=email).first()
        if person is None:
            raise CommandError(f"No account has the address {email}.")
        actor = None
        if by:
            actor = User.objects.filter(email__iexact=by, is_superuser=True).first()
            if actor is None:
                raise CommandError(f"{by} is not a superuser.")
        would = plan(person)
        summary = (
            f"{would.images} images (with their files), {would.prompts} generations' prompts "
            f"and {would.history} prompt-history entries of {person.email}"
        )
        if confirm.lower() != person.email.lower():
            self.stdout.write(
                f"Would erase {summary}, and remove the address from the audit log.\n"
                f"Nothing was changed. To erase, repeat the address: --confirm {person.email}"
            )
            return
        done = erase_person(person, by=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased {done.images} images, {done.prompts} generations' prompts and "
                f"{done.history} prompt-history entries; anonymised {done.audit_entries} "
                "audit entries."
            )
        )
