"""Text typed by a person, made fit for one line of a name, a tag or a search."""

# C0 and C1 control characters (NUL among them, which PostgreSQL refuses in text) read as
# spaces: nobody types them, and a tag or a search must never fail on them.
_CONTROLS = {code: " " for code in (*range(0x20), *range(0x7F, 0xA0))}


def one_line(text, limit=None):
    """`text` with control characters as spaces, runs of whitespace as one space, no spaces at
    either end, and cut to `limit` characters when given."""
    line = " ".join((text or "").translate(_CONTROLS).split())
    return line if limit is None else line[:limit]
