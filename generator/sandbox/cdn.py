"""The emulated CDN: CloudFront-style signed URLs for results, and the view that serves them."""

import hashlib
import hmac
import time

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse

from . import images
from .api import api_view
from .models import COMPLETED, SandboxJob


def _sign(job_id, expires):
    message = f"sandbox-cdn:{job_id}:{expires}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def image_url(request, job):
    """A CloudFront-style signed URL, valid SANDBOX_URL_EXPIRY_SECONDS after completion."""
    lifetime = int(getattr(settings, "SANDBOX_URL_EXPIRY_SECONDS", 7 * 24 * 3600))
    expires = int(job.finished_at.timestamp()) + lifetime
    path = reverse("sandbox:cdn", kwargs={"job_id": job.job_id})
    return request.build_absolute_uri(f"{path}?expires={expires}&sig={_sign(job.job_id, expires)}")


_ACCESS_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>"
)


@api_view("download", "GET", "HEAD")
def cdn_image(request, call, job_id):
    """Serve a result PNG like CloudFront: 403 once the signed URL has expired or is forged."""
    call.job_id = job_id
    call.body = {"expires": request.GET.get("expires", "")}
    job = SandboxJob.objects.select_related("account").filter(job_id=job_id).first()
    if job is None or job.status() != COMPLETED:
        call.outcome = "not found"
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    call.account = job.account
    expires = request.GET.get("expires", "")
    sig = request.GET.get("sig", "")
    valid = expires.isdigit() and len(expires) <= 12
    if not valid or not hmac.compare_digest(sig.encode(), _sign(job_id, int(expires)).encode()):
        call.outcome = "bad signature"
        return HttpResponse(_ACCESS_DENIED, status=403, content_type="application/xml")
    if int(expires) <= time.time():
        call.outcome = "expired"
        return HttpResponse(_ACCESS_DENIED, status=403, content_type="application/xml")
    path = images.png_for(job)
    return FileResponse(path.open("rb"), content_type="image/png")
