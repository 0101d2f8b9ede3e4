"""`{% cached_card %}`: a gallery card rendered once per version of its row and per viewer's view
of it, then served from a per-process memory cache.

Template rendering is most of a gallery page's server time, and a settled card (done, failed,
unknown, expired) changes only when its row does: every change of a job's state or files
moves `updated_at`. The key holds everything else the card shows that is not the row: the
viewer's star, whether they may retry or delete it, the team's time zone, the page's filters
and whether it is swapped out of band. Two things differ per request and not per card, the
CSRF token and the page's own path (the star's return address), so the cached text carries
markers that are replaced on the way out. Pending cards (their elapsed time moves) and cards
with an error message are rendered every time.

The cache is local to each process (settings: CACHES["fragments"]): nothing has to be
invalidated across processes because a changed row is a new key, and the cache holds what is
on screen now, so it stays small.
"""

import hashlib

from django import template
from django.core.cache import caches
from django.utils.html import escape
from template_partials.templatetags.partials import SubDictionaryWrapper

register = template.Library()

CSRF_MARK = "csrf-8c1f0e27-in-card"
PATH_MARK = "/path-8c1f0e27-in-card"
# A change to the card's markup must not meet cards cached before it in a running process:
# deploys restart processes, and tests change templates only between runs.
_TIMEOUT = 3600


def _key(context, job):
    membership = context.get("membership")
    parts = (
        str(job.code),
        job.updated_at.isoformat() if job.updated_at else "",
        job.parent_id,
        bool(getattr(job, "starred", False)),
        membership is not None and membership.may_delete(job),
        bool(context.get("can_edit")),
        context["team"].time_zone,
        context.get("filter_query", ""),
        context.get("filters_param", ""),
        bool(context.get("oob")),
    )
    return "card:" + hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class CachedCardNode(template.Node):
    def __init__(self, partials):
        self.partials = partials

    def render(self, context):
        card = self.partials["card"]
        job = context["job"]
        if job.is_pending or context.get("card_error"):
            return card.render(context)
        cache = caches["fragments"]
        key = _key(context, job)
        html = cache.get(key)
        if html is None:
            with context.push(csrf_token=CSRF_MARK, next_path=PATH_MARK):
                html = card.render(context)
            cache.set(key, html, _TIMEOUT)
        return _fill(html, context)


def _fill(html, context):
    """The request's own CSRF token and path in place of the markers."""
    request = context.get("request")
    token = context.get("csrf_token")
    html = html.replace(CSRF_MARK, escape(str(token)) if token else "")
    return html.replace(PATH_MARK, escape(request.get_full_path()) if request else "")


@register.tag
def cached_card(parser, token):
    """`{% cached_card %}` renders this template's `card` partial for `job` in the context."""
    return CachedCardNode(SubDictionaryWrapper(parser.extra_data, "partials"))
