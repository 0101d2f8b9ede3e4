"""Per-request server time and SQL query count, for the gallery benchmark only.

Not in settings.MIDDLEWARE: tests/benchmarks/bench_wsgi.py puts it first in the list of the
gunicorn it starts, so production never runs it. It answers with two headers:

- `Server-Timing: app;dur=<ms>`: from entering the middleware stack to leaving it, which
  includes every other middleware, the view and template rendering, but not gunicorn's
  parsing and socket writes (the benchmark measures those separately, client-side).
- `X-Query-Count: <n>`: SQL statements run on the default database during the request.
"""

import time

from django.db import connection


class QueryCountTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counted(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed_ms:.2f}"
        response["X-Query-Count"] = str(count)
        return response
