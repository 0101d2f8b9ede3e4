"""A team's saved prompts: a prompt with `{variables}` and the settings to make it with.

Anyone in the team may use a preset; members add their own, and change or delete them;
admins change any (`Membership.may_change`). Picking one fills the generation form
(views/studio.py `_prefill`); a small form fills its variables in.
"""

import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from ..lib.text import one_line
from .generations import Settings
from .teams import Team

PRESET_NAME_MAX = 80
# `{subject}`: letters, digits and underscores in braces. Anything else in braces is text.
VARIABLE = re.compile(r"\{(\w+)\}")
VARIABLE_VALUE_MAX = 300


class MissingVariables(ValueError):
    """A preset used with variables left unfilled; the message names them."""

    def __init__(self, names):
        self.names = names
        super().__init__(missing_message(names))


def missing_message(names):
    listed = ", ".join(f"{{{name}}}" for name in names[:-1])
    listed = f"{listed} and {{{names[-1]}}}" if listed else f"{{{names[-1]}}}"
    return f"Fill in {listed}: type a value for each (or write your own text in the prompt)."


def variables_in(*texts):
    """The variable names in `texts`, each once, in the order they first appear."""
    names = []
    for text in texts:
        for name in VARIABLE.findall(text or ""):
            if name not in names:
                names.append(name)
    return names


def fill(text, values):
    """`text` with each `{name}` in `values` replaced, in one pass (a value holding braces is
    not filled in again); names without a value stay as they are."""
    return VARIABLE.sub(lambda m: values.get(m.group(1)) or m.group(0), text or "")


class PromptPreset(Settings):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=PRESET_NAME_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Generations started with the preset (`count_use`, called where generations start).
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "team", name="preset_name_per_team"),
        ]

    def __str__(self):
        return self.name

    @property
    def variables(self):
        return variables_in(self.prompt, self.negative_prompt)

    def unfilled_in(self, *texts):
        """This preset's variables still in braces in `texts` (a prompt as the form holds it)."""
        present = variables_in(*texts)
        return [name for name in self.variables if name in present]

    def _values(self, values):
        """Each variable's value, whitespace collapsed and cut to the longest allowed."""
        return {name: one_line(values.get(name), VARIABLE_VALUE_MAX) for name in self.variables}

    def fill_text(self, text, values):
        """`text` (a prompt as it stands in the form) with this preset's variables that have a
        value in `values` filled in."""
        return fill(text, self._values(values))

    def filled_partly(self, values):
        """The preset's parameters with the variables that have a value in `values` ({name:
        text}) filled in; the others stay in braces."""
        values = self._values(values)
        return {
            **self.parameters,
            "prompt": fill(self.prompt, values),
            "negative_prompt": fill(self.negative_prompt, values),
        }

    def filled(self, values):
        """Like filled_partly, but raises MissingVariables naming the variables without a
        value."""
        missing = [name for name, value in self._values(values).items() if not value]
        if missing:
            raise MissingVariables(missing)
        return self.filled_partly(values)

    def count_use(self):
        PromptPreset.objects.filter(pk=self.pk).update(uses=F("uses") + 1)
