"""Response headers the app sets on top of Django's SecurityMiddleware.

SecurityMiddleware already sends nosniff, Referrer-Policy, Cross-Origin-Opener-Policy and HSTS
(see the SECURE_* settings), and XFrameOptionsMiddleware sends X-Frame-Options; this adds the
Content-Security-Policy, which Django 5.2 has no setting for; and HtmxFailureMiddleware
keeps a failed htmx request from swapping a whole page into a fragment.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy():
    """The policy above; with single sign-on on, forms may also lead to the identity provider
    (the "Sign in with …" button posts here and is redirected there, and browsers hold
    redirects after a form to form-action too)."""
    if not settings.OIDC_ENABLED:
        return CONTENT_SECURITY_POLICY
    issuer = urlsplit(settings.OIDC_ISSUER_URL)
    origin = f"{issuer.scheme}://{issuer.netloc}"
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy on HTML pages.

    No 'unsafe-inline': templates keep scripts and styles in static files (tests enforce it),
    so an injected <script> or on*= handler does not run.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", content_security_policy())
        return response


# One message for every failure an htmx request meets; the page shows it in place (app.js).
HTMX_FAILURE_MESSAGE = "Something went wrong on our side. Try again in a moment."
HTMX_NOT_FOUND_MESSAGE = "That is no longer here: it may have been deleted. Reload the page."
HTMX_FORBIDDEN_MESSAGE = "Your role in this team does not allow that."
logger = logging.getLogger("django.request")


class HtmxFailureMiddleware:
    """Keep htmx requests from swapping a whole page into a fragment.

    - A login redirect (the session expired) becomes a full-page redirect to the login page
      (HX-Redirect), with `next` the page the person was on, not the fragment's URL.
    - An unhandled exception becomes a short text/plain 500 with a fixed message, shown in
      place by app.js, in DEBUG too: Django's technical page would be swapped in, and its
      inline styles and scripts break under our CSP. The exception is still logged.
    - A 404 or 403 becomes a short text/plain answer too: a refusal's own sentence (ours are
      written for people), or a fixed one, instead of an error page app.js cannot show.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.htmx and response.status_code in (301, 302, 303, 307, 308):
            target = urlsplit(response.get("Location", ""))
            if target.path == resolve_url(settings.LOGIN_URL):
                return HttpResponseClientRedirect(redirect_to_login(_here(request)).url)
        return response

    def process_exception(self, request, exception):
        if not request.htmx:
            return None
        if isinstance(exception, Http404):
            return HttpResponse(HTMX_NOT_FOUND_MESSAGE, status=404, content_type="text/plain")
        if isinstance(exception, PermissionDenied):
            message = str(exception) or HTMX_FORBIDDEN_MESSAGE
            return HttpResponse(message, status=403, content_type="text/plain")
        got_request_exception.send(sender=None, request=request)
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return HttpResponse(HTMX_FAILURE_MESSAGE, status=500, content_type="text/plain")


def _here(request):
    """The page the person was on (HX-Current-URL), if it is ours; else the site's root."""
    here = request.htmx.current_url_abs_path or ""
    if here.startswith("/") and url_has_allowed_host_and_scheme(
        here, {request.get_host()}, request.is_secure()
    ):
        return here
    return "/"
