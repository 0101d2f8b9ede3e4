"""Request validation for the create endpoints; every rule answers body code 1003."""

from dataclasses import dataclass
from urllib.parse import urlparse

import requests
from django.urls import Resolver404, resolve
from urllib3.util import parse_url

from ..lib import ssrf
from . import images
from .models import ALL_BUTTONS

KREA = "wavespeed-ai/flux-krea-dev-lora"  # text -> image
KONTEXT = "wavespeed-ai/flux-kontext-dev"  # image -> image
MODELS = (KREA, KONTEXT)
SOURCE_TIMEOUT = (3.0, 10.0)
MAX_SOURCE_BYTES = 20 * 1024 * 1024


class ApiError(Exception):
    """A body-level error: answered as HTTP 200 with {"code": code, "msg": msg}."""

    def __init__(self, code, msg=None):
        from .faults import error_message

        self.code = code
        self.msg = msg or error_message(code)
        super().__init__(self.msg)


@dataclass
class CreateParams:
    prompt: str
    negative_prompt: str = ""
    model_name: str = ""
    source_url: str = ""
    source_size: tuple | None = None
    source_key: str = ""
    similar: float = 0.5
    scale: str = "1:1"
    resolution: str = "4k"
    batch_quantity: int = 1
    webhook_url: str = ""


def is_http_url(value):
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _optional(body, name, default):
    value = body.get(name)
    return default if value is None else value


def _prompt(body):
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiError(1003, "prompt is required")
    return prompt


def _string(body, name):
    value = _optional(body, name, "")
    if not isinstance(value, str):
        raise ApiError(1003, f"{name} must be a string")
    return value


def _webhook(body, name):
    url = _string(body, name)
    if url and not is_http_url(url):
        raise ApiError(1003, f"{name} must be an http(s) URL")
    return url


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_v4(body):
    """The createBySourcePrompt body, checked field by field (docs/akool-api.md §4.1)."""
    params = CreateParams(prompt=_prompt(body))
    params.negative_prompt = _string(body, "negative_prompt")

    sources = _optional(body, "source_images", [])
    if not isinstance(sources, list) or not all(is_http_url(url) for url in sources):
        raise ApiError(1003, "source_images must be an array of http(s) image URLs")
    # Only the first source is used, as documented.
    params.source_url = sources[0] if sources else ""

    model = _string(body, "model_name")
    if model and model not in MODELS:
        raise ApiError(1003, f"model_name must be one of {', '.join(MODELS)}")
    # Emulator choice (undocumented): an explicit model must fit the presence of a source.
    if model == KONTEXT and not params.source_url:
        raise ApiError(1003, f"{KONTEXT} is image-to-image and needs source_images")
    if model == KREA and params.source_url:
        raise ApiError(1003, f"{KREA} is text-to-image and takes no source_images")
    params.model_name = model or (KONTEXT if params.source_url else KREA)

    params.scale = _optional(body, "scale", "1:1")
    if params.scale not in (*images.SCALES, "Original"):
        raise ApiError(1003, f"scale must be one of {', '.join(images.SCALES)} or Original")
    if params.scale == "Original" and not params.source_url:
        raise ApiError(1003, "scale Original needs source_images")

    params.resolution = _optional(body, "resolution", "4k")
    if params.resolution not in images.RESOLUTIONS:
        raise ApiError(1003, "resolution must be 1080p or 4k")

    batch = _optional(body, "batch_quantity", 1)
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 4:
        raise ApiError(1003, "batch_quantity must be an integer from 1 to 4")
    params.batch_quantity = batch

    similar = _optional(body, "similar", 0.5)
    if not _number(similar) or not 0 <= similar <= 1:
        raise ApiError(1003, "similar must be a number from 0 to 1")
    params.similar = float(similar)

    # v4 spells it all-lowercase; a camelCase webhookUrl here is silently ignored, as Akool does.
    params.webhook_url = _webhook(body, "webhookurl")
    if params.source_url:
        fetch_source(params, "source_images[0]")
    return params


def validate_v3(body):
    """The deprecated createbyprompt body (§4.2): one source_image, camelCase webhookUrl."""
    params = CreateParams(prompt=_prompt(body), resolution="1080p")
    params.scale = _optional(body, "scale", "1:1")
    if params.scale not in images.SCALES:
        raise ApiError(1003, f"scale must be one of {', '.join(images.SCALES)}")
    source = _string(body, "source_image")
    if source and not is_http_url(source):
        raise ApiError(1003, "source_image must be an http(s) URL")
    params.source_url = source
    params.model_name = KONTEXT if source else KREA
    params.webhook_url = _webhook(body, "webhookUrl")
    if source:
        fetch_source(params, "source_image")
    return params


def validate_button(body):
    job_id = body.get("_id")
    button = body.get("button")
    if not isinstance(job_id, str) or not job_id:
        raise ApiError(1003, "_id is required")
    if not isinstance(button, str) or not button:
        raise ApiError(1003, "button is required")
    if button not in ALL_BUTTONS:
        raise ApiError(1003, "button must be one of U1-U4 or V1-V4")
    return job_id, button, _webhook(body, "webhookUrl")


# This app's signed image links: a source for image-to-image (an upload or a gallery image)
# and this emulator's own results. They may live on a private address (the app itself).
OWN_LINK_VIEWS = ("source_image", "sandbox:cdn")


def _own_link_origin(url):
    """The origin of `url` when it is one of OWN_LINK_VIEWS on this app's address, else None."""
    found = ssrf.origin(url)
    if found is None or found not in ssrf.own_origins(sandbox=True):
        return None
    try:
        match = resolve(parse_url(url).path or "/")
    except Resolver404:
        return None
    return found if match.view_name in OWN_LINK_VIEWS else None


def fetch_source(params, field_name):
    """Download the source image like Akool would; unreachable or not an image answers 1003.

    Through the same guard as the app's own fetches: a public link (every redirect checked
    again), or one of the app's own signed links, fetched without following redirects."""
    url = params.source_url
    own = _own_link_origin(url)
    session = ssrf.guarded_session(trusted={own} if own else ())
    try:
        with (
            session,
            session.get(
                url, timeout=SOURCE_TIMEOUT, stream=True, allow_redirects=not own
            ) as response,
        ):
            if response.status_code != 200:
                raise ApiError(
                    1003, f"{field_name} could not be fetched (HTTP {response.status_code})"
                )
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > MAX_SOURCE_BYTES:
                    raise ApiError(1003, f"{field_name} is larger than 20 MB")
    except ssrf.UnsafeURL as refusal:
        raise ApiError(1003, f"{field_name} could not be fetched: {refusal}") from None
    except requests.RequestException as exc:
        raise ApiError(1003, f"{field_name} could not be fetched ({type(exc).__name__})") from None
    try:
        width, height, thumb = images.inspect_source(bytes(data))
    except ValueError:
        raise ApiError(1003, f"{field_name} is not an image") from None
    params.source_size = (width, height)
    params.source_key = images.store_source(thumb)
