"""The WSGI app the gallery benchmark runs under gunicorn: the real one, plus two additions.

1. tests.benchmarks.bench_middleware first in MIDDLEWARE (server time and SQL count as headers).
2. WhiteNoise in front, serving BENCH_STATIC_ROOT under /bench-static/: the same server
   returning a static file of a page's size, which is the benchmark's reference ("limit").
"""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "akool_web.settings")
django.setup(set_prefix=False)
settings.MIDDLEWARE = [
    "tests.benchmarks.bench_middleware.QueryCountTimingMiddleware",
    *settings.MIDDLEWARE,
]

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from whitenoise import WhiteNoise  # noqa: E402

application = WhiteNoise(
    WSGIHandler(), root=os.environ["BENCH_STATIC_ROOT"], prefix="bench-static/", max_age=0
)
