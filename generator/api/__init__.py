"""The REST API under /api/v1/ (django-ninja): token auth, problem details for every error,
and the OpenAPI document with Swagger UI served from our own static files."""

import logging
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from . import generations, images, usage
from .auth import BAD_TOKEN, TokenAuth
from .problems import Problem, from_problem, problem_response

logger = logging.getLogger("django.request")

api = NinjaAPI(
    title="Akool studio API",
    version="1",
    urls_namespace="api-1",
    auth=TokenAuth(),
    description=(
        "Generate, list and download a team's images with an API token "
        "(`Authorization: Bearer akw_…`). Errors are RFC 9457 problem details."
    ),
)
api.add_router("", generations.router)
api.add_router("", images.router)
api.add_router("", usage.router)


@api.exception_handler(Problem)
def _problem(request, exc):
    return from_problem(request, exc)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    errors = {}
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query",))
        errors.setdefault(where or "request", []).append(error.get("msg", "invalid"))
    first = next(iter(errors.items()), ("request", ["invalid"]))
    return problem_response(request, 422, f"{first[0]}: {first[1][0]}", errors=errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return problem_response(request, 401, BAD_TOKEN, {"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return problem_response(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(request, 404, "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return problem_response(request, 403, str(exc) or "Not allowed.")


@api.exception_handler(Exception)
def _crash(request, exc):
    # Logged like Django logs a crash (the request's Authorization header is among the
    # settings-like names Django's reporter masks); the caller gets no trace.
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return problem_response(request, 500, "Something went wrong on our side; try again later.")


def _root(request, **kwargs):
    detail = f"The endpoints are listed at {request.path}docs and {request.path}openapi.json."
    return problem_response(request, 404, detail)


def not_found(request, rest=""):
    """Any other path under /api/v1/: a problem too, not the site's HTML 404 page."""
    return problem_response(request, 404, "There is no such API endpoint.")


def _method_problems(view):
    """Ninja answers a method a path does not take with a plain-text 405; make it a problem."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type", "").startswith("text/"):
            detail = f"This endpoint takes {response['Allow']}."
            return problem_response(request, 405, detail, {"Allow": response["Allow"]})
        return response

    return wrapped


def urls():
    """`api.urls`, every view answering a wrong method with a problem too."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.name == "api-root":
            # Ninja's root raises a bare 404; reverse() still needs the name.
            pattern.callback = _root
        pattern.callback = _method_problems(pattern.callback)
    return patterns, app_name, namespace
