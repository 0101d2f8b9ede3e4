"""gunicorn settings for akool-web: `gunicorn -c deploy/gunicorn.conf.py` (akool-web.service).

Options given on the command line override these. The worker count comes from WEB_CONCURRENCY
in the environment (gunicorn reads it itself): 2 x cores + 1.

The access log leaves out secret URL tokens (webhook addresses, signed source links, invitation
and password-reset links) in the request line, the query and the Referer, with the same rules
as the app's own logs (generator/lib/log_filters.py).
"""

import sys
from pathlib import Path

from gunicorn.glogging import Logger

# The project's own code, wherever gunicorn is started from.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generator.lib.log_filters import redact  # noqa: E402

wsgi_app = "akool_web.wsgi:application"
bind = "127.0.0.1:8000"
# Only nginx on this host may set X-Forwarded-Proto (the app's TRUSTED_PROXIES decides whose
# X-Forwarded-For it believes).
forwarded_allow_ips = "127.0.0.1,::1"
timeout = 60
graceful_timeout = 30
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"


class RedactingLogger(Logger):
    """gunicorn's logger, with every text field of an access-log line redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


logger_class = RedactingLogger
