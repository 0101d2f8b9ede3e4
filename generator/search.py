"""Full-text prompt search: PostgreSQL's text search there, SQLite's FTS5 here.

Both backends get the same query shape: every word the person typed must appear, each as a
prefix (so "light" finds "lighthouse" while typing), with English stemming ("lighthouses" finds
"lighthouse"). The index behind it is made in migration 0004_prompt_search: a GIN expression
index on PostgreSQL, an FTS5 table kept in sync by triggers on SQLite.

User input never reaches either query language as syntax: it is cut into plain words first, and
each word is quoted, so quotes, *, -, NEAR, AND/OR and parentheses are only ever searched for as
words (or dropped, for punctuation), never parsed.
"""

import re

from django.db import connection
from django.db.models.expressions import RawSQL

# PostgreSQL and SQLite both tokenise on letters and digits; \w keeps the two close.
WORD = re.compile(r"\w+", re.UNICODE)
# A long pasted paragraph is not a search; the first words are plenty to narrow a gallery.
MAX_WORDS = 16
# The longest text a search box keeps (the gallery's, the prompt history's, the presets').
QUERY_MAX = 200


def search_words(text):
    return WORD.findall(text or "")[:MAX_WORDS]


def search_generations(queryset, text, prefix=""):
    """`queryset` narrowed to rows whose generation's prompt matches `text`.

    `prefix` is the lookup path from the queryset's model to Generation ("" for a Generation
    queryset, "generation__" for Jobs). The match is a subquery on generation ids, so the
    queryset's own filters (its team) still decide what anyone can see.
    """
    words = search_words(text)
    if not words:
        # Only punctuation: nothing can match, and the gallery shows its empty state.
        return queryset.none()
    lookup = f"{prefix}id__in"
    if connection.vendor == "postgresql":
        return queryset.filter(**{lookup: _postgres_ids(words)})
    return queryset.filter(**{lookup: _sqlite_ids(words)})


def _postgres_ids(words):
    from django.contrib.postgres.search import SearchQuery, SearchVector

    from .models import Generation

    # websearch_to_tsquery cannot express prefixes, so the tsquery is built here from plain
    # words: 'word':* joined by &. Words hold only \w characters, so the quotes cannot be
    # broken out of. The vector's expression is exactly the GIN index's expression.
    raw = " & ".join(f"'{word.lower()}':*" for word in words)
    query = SearchQuery(raw, config="english", search_type="raw")
    return (
        Generation.objects.annotate(prompt_search=SearchVector("prompt", config="english"))
        .filter(prompt_search=query)
        .values("id")
    )


def _sqlite_ids(words):
    # FTS5 string syntax: a double-quoted string is a phrase of plain tokens; "" escapes a
    # quote (none survive the \w split, but the escape keeps this safe if that ever changes).
    match = " AND ".join('"{}"*'.format(word.replace('"', '""')) for word in words)
    # The table name is a constant; the user's words travel only as the bound parameter.
    sql = "SELECT rowid FROM generator_prompt_fts WHERE generator_prompt_fts MATCH %s"
    return RawSQL(sql, [match])  # noqa: S611
