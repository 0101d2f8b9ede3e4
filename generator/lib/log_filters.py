"""Keep secret URL tokens (webhook addresses, signed links, invitations, password resets, the
single sign-on callback's code) out of the logs. `redact` serves Django's loggers
(RedactTokens) and gunicorn's access log (deploy/gunicorn.conf.py); deploy/nginx.conf spells
the same paths for nginx's log."""

import logging
import re

# Paths whose last segments are secrets: (prefix, number of secret segments after it).
TOKEN_PATHS = (
    ("hooks/akool", 1),  # a team's webhook address
    ("source", 1),  # signed source-image links that Akool fetches (uploads and "use as source")
    ("invite", 1),  # invitation links
    ("password/reset", 2),  # password-reset links: user id and token
)

# Paths whose whole query string is secret: the identity provider's answer (authorization code,
# state) on the single sign-on callback.
QUERY_PATHS = ("login/callback",)

# A slash, raw or percent-encoded (a path inside a query string, e.g. ?next=/invite/...).
_SLASH = r"(?:/|%2[fF])"
_SEGMENT = r"(?:(?!%2[fF])[^/\s\"'?&#])+"


def _pattern(prefix, segments):
    head = _SLASH + _SLASH.join(re.escape(part) for part in prefix.split("/")) + _SLASH
    tail = _SLASH.join([_SEGMENT] * segments)
    return f"(?P<head>{head}){tail}", "/".join(["***"] * segments)


def _query_pattern(path):
    head = _SLASH + _SLASH.join(re.escape(part) for part in path.split("/")) + _SLASH + r"\?"
    return f"(?P<head>{head})[^\\s\"']+", "***"


def _compile():
    rules = []
    for prefix, segments in TOKEN_PATHS:
        pattern, stars = _pattern(prefix, segments)
        rules.append((re.compile(pattern), stars))
    for path in QUERY_PATHS:
        pattern, stars = _query_pattern(path)
        rules.append((re.compile(pattern), stars))
    return rules


_RULES = _compile()


def redact(text):
    for pattern, stars in _RULES:
        text = pattern.sub(lambda match, stars=stars: match["head"] + stars, text)
    return text


class RedactTokens(logging.Filter):
    def filter(self, record):
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = None
        else:
            record.msg = redact(str(record.msg))
        return True
