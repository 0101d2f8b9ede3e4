"""Prompt moderation: words and phrases a prompt may not contain, checked before Akool sees it.

Akool bans accounts over prompts, so every start that sends a prompt goes through `enforce()`
(called by `starters.start_generation`, the one door the form, retries and any other caller
pass through). A refusal is a `PromptBlocked` (a ValueError with a sentence naming the rule),
written to the team's audit log, which the usage page counts.

Rules come from `MODERATORS`. The first is the word list: the server's (the
`BLOCKED_PROMPT_PHRASES` setting) and the team's own (`Team.blocked_phrases`, one a line). An
external moderation service would be another `Moderator` added there: it gets the same texts
and answers with a `Verdict` or None.

Matching is on whole words and phrases, case-insensitive, after Unicode normalisation, so
"Ｇore", "GORE" and "g\u200bore" are all "gore", while "gorex" is not.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from . import audit

# The texts of a generation that reach Akool, with the names people know them by.
CHECKED_FIELDS = (("prompt", "The prompt"), ("negative_prompt", "The “Leave out” text"))
PHRASE_MAX = 100


def normalise(text):
    """`text` as rules compare it: compatibility forms folded (full-width letters, ligatures),
    invisible format characters (zero-width spaces and joiners) removed, case folded and
    whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(unicodedata.normalize("NFKC", text.casefold()).split())


def parse_phrases(text):
    """The phrases of a list as typed (one a line), normalised, blank lines and repeats left
    out, in their order."""
    phrases = []
    for line in (text or "").splitlines():
        phrase = normalise(line)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def server_phrases():
    """The server's list (the BLOCKED_PROMPT_PHRASES setting), normalised."""
    return parse_phrases("\n".join(settings.BLOCKED_PROMPT_PHRASES))


def _pattern(phrase):
    # Word boundaries that also hold next to punctuation: "gore!" matches "gore", "gorex" not.
    words = (re.escape(word) for word in phrase.split(" "))
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def find(phrases, text):
    """The first of `phrases` (normalised) that occurs in `text` as a whole word or phrase."""
    body = normalise(text)
    return next((p for p in phrases if p and _pattern(p).search(body)), None)


@dataclass(frozen=True)
class Verdict:
    """Why a prompt is refused: which list (`rule`), what matched, in which field."""

    rule: str
    phrase: str
    field: str
    message: str


class PromptBlocked(ValueError):
    """A start refused by a moderation rule; the message names the rule."""

    def __init__(self, verdict):
        super().__init__(verdict.message)
        self.verdict = verdict


class Moderator:
    """One source of moderation rules."""

    def check(self, team, texts):
        """The Verdict on `texts` ({field name: text}) for `team`, or None when they pass."""
        raise NotImplementedError


class WordList(Moderator):
    """The server's list, then the team's: whole words and phrases."""

    def lists(self, team):
        yield "server", server_phrases()
        yield "team", parse_phrases(team.blocked_phrases)

    def check(self, team, texts):
        for rule, phrases in self.lists(team):
            for field, label in CHECKED_FIELDS:
                phrase = find(phrases, texts.get(field, ""))
                if phrase:
                    owner = (
                        "this server's blocked words (set by its operator)"
                        if rule == "server"
                        else f"{team.name}'s blocked words (Team settings)"
                    )
                    message = (
                        f"{label} contains “{phrase}”, which is on {owner}. "
                        "Nothing was sent to Akool; rephrase it without that word."
                    )
                    return Verdict(rule, phrase, field, message)
        return None


MODERATORS = (WordList(),)


def check(team, texts):
    """The first Verdict any moderator gives on `texts` ({field: text}), or None."""
    for moderator in MODERATORS:
        verdict = moderator.check(team, texts)
        if verdict is not None:
            return verdict
    return None


def texts_of(generation):
    return {field: getattr(generation, field) or "" for field, _ in CHECKED_FIELDS}


def enforce(generation):
    """Refuse `generation` (saved or not) when a rule blocks its texts: write one audit entry
    and raise PromptBlocked. Call it before anything is reserved or saved, and outside any
    transaction the caller rolls back on ValueError, or the audit entry goes with it."""
    verdict = check(generation.team, texts_of(generation))
    if verdict is None:
        return
    with transaction.atomic():
        audit.record(
            generation.author,
            generation.team,
            audit.AuditAction.PROMPT_BLOCKED,
            target=verdict.field.replace("_", " "),
            rule=verdict.rule,
            phrase=verdict.phrase,
        )
    raise PromptBlocked(verdict)
