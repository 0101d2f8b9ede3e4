"""Keep unguessable URL tokens (webhook addresses, signed links) out of the logs."""

import logging
import re

_TOKEN_PATHS = re.compile(r"/(hooks/akool|source)/[^/\s\"']+")


def redact(text):
    return _TOKEN_PATHS.sub(r"/\1/***", text)


class RedactTokens(logging.Filter):
    def filter(self, record):
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = None
        else:
            record.msg = redact(str(record.msg))
        return True
