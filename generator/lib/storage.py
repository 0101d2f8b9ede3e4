"""Handing a stored file to a browser once its team has been checked, whatever the storage.

Local storage: the file is streamed by Django, or handed to the reverse proxy with
X-Accel-Redirect (nginx) / X-Sendfile (Apache) when MEDIA_ACCEL_REDIRECT says so, so gunicorn
workers are not tied up sending large originals.

S3-compatible storage: images shown inside our pages (thumbnails, previews) are proxied, because
the strict CSP allows images from 'self' only and a redirect to the bucket's origin would be
blocked. Opening or downloading an original is a top-level navigation, which CSP does not
restrict, so it redirects to a presigned URL that expires after AWS_QUERYSTRING_EXPIRE seconds
(five minutes by default). Objects stay private; a leaked link dies quickly.
"""

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

# A job's files never change under its name, but only its team may see them.
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
# Media is served from the app's own origin: even if a file were not the image its type says,
# the browser must not sniff it into something else, run anything in it, or load anything
# from it (the page-wide CSP in middleware.py covers HTML pages only).
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
}
# Storage backends raise these when they cannot write: a full or read-only disk, missing
# permissions, an unreachable bucket.
STORAGE_ERRORS = (OSError,)
try:
    from botocore.exceptions import BotoCoreError, ClientError

    STORAGE_ERRORS += (BotoCoreError, ClientError)
except ImportError:  # only installed with the S3 extra
    pass


class StorageUnavailable(Exception):
    """A file could not be written to media storage; the message is fit to show."""


def save_file(field, name, content):
    """`field.save(name, content)` (without saving the row), as StorageUnavailable on failure."""
    try:
        field.save(name, content, save=False)
    except STORAGE_ERRORS as error:
        raise StorageUnavailable(
            "The file could not be stored right now; try again in a few minutes."
        ) from error


def is_local(storage):
    return isinstance(storage, FileSystemStorage)


def file_response(field, content_type, filename, as_attachment=False, redirect=False):
    """The response for one stored file. `redirect` allows a presigned-URL redirect on remote
    storage (use it for navigations, never for <img> sources)."""
    response = _file_response(field, content_type, filename, as_attachment, redirect)
    for header, value in MEDIA_HEADERS.items():
        response[header] = value
    return response


def _file_response(field, content_type, filename, as_attachment, redirect):
    if not field:
        raise Http404
    storage = field.storage
    if is_local(storage):
        accel = settings.MEDIA_ACCEL_REDIRECT
        if accel:
            if not storage.exists(field.name):
                raise Http404
            return _accel_response(
                storage, field.name, accel, content_type, filename, as_attachment
            )
    elif redirect:
        disposition = content_disposition_header(as_attachment, filename)
        url = storage.url(
            field.name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
            },
        )
        response = HttpResponseRedirect(url)
        # The link expires: never let a cache keep the redirect longer than the link lives.
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        # django-storages raises this for a missing S3 key too.
        raise Http404 from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=as_attachment, filename=filename
    )
    response["Cache-Control"] = PRIVATE_IMMUTABLE
    return response


def _accel_response(storage, name, accel, content_type, filename, as_attachment):
    response = HttpResponse(content_type=content_type)
    if accel.lower() == "x-sendfile":
        response["X-Sendfile"] = storage.path(name)
    else:
        # nginx maps this internal location onto MEDIA_ROOT (see deploy/nginx.conf).
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(name)
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cache-Control"] = PRIVATE_IMMUTABLE
    return response


# Big enough that S3 round trips and Python overhead stay small, small enough that many
# concurrent downloads hold little memory.
CHUNK_BYTES = 256 * 1024


def _s3_object(storage, name):
    """The boto3 object behind `name` on S3 storage, None on local storage.

    django-storages' S3File reads a whole object into memory on the first read, so streams
    and ranges go to the object itself (opening an S3File sends no request)."""
    if is_local(storage):
        return None
    return storage.open(name, "rb").obj


def file_chunks(field, start=0, chunk_size=CHUNK_BYTES):
    """A stored file's bytes from `start` on, in order, one chunk at a time."""
    s3_object = _s3_object(field.storage, field.name)
    if s3_object is None:
        with field.storage.open(field.name, "rb") as handle:
            handle.seek(start)
            while block := handle.read(chunk_size):
                yield block
        return
    body = s3_object.get(**({"Range": f"bytes={start}-"} if start else {}))["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def file_head(field, count):
    """A stored file's first `count` bytes (fewer if it is shorter) and its size, in one
    request on S3."""
    s3_object = _s3_object(field.storage, field.name)
    if s3_object is None:
        with field.storage.open(field.name, "rb") as handle:
            return handle.read(count), field.storage.size(field.name)
    got = s3_object.get(Range=f"bytes=0-{count - 1}")
    try:
        head = got["Body"].read()
    finally:
        got["Body"].close()
    # "bytes 0-63/12345"; an empty object answers without a range.
    size = int(got["ContentRange"].rsplit("/", 1)[1]) if got.get("ContentRange") else len(head)
    return head, size
