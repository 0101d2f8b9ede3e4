"""RFC 9457 problem details: every error the API answers is one of these."""

from http import HTTPStatus

from django.http import JsonResponse

CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise anywhere in an API operation to answer with this problem."""

    def __init__(self, status, detail="", headers=None, **extra):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(request, status, detail="", headers=None, **extra):
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": request.path,
        **extra,
    }
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_problem(request, problem):
    return problem_response(
        request, problem.status, problem.detail, problem.headers, **problem.extra
    )
