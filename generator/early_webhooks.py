"""Webhooks that arrive before we know the job they name.

Akool may finish an image (and call the webhook) before the create call's answer, which carries
the job's id, has been recorded: a slow answer, a worker paused between the two. Such a result
is parked in the shared cache under the team and Akool's id, and the submit step that records
the id picks it up, so the job moves at once instead of waiting for the safety-net poll.
"""

from django.core.cache import cache

# Long enough for any create answer to be recorded (the create timeout plus the lease).
PARK_SECONDS = 15 * 60


def _key(team_id, akool_id):
    return f"early-webhook:{team_id}:{akool_id}"


def park(team_id, result):
    # Callbacks may come out of order: a "processing" never replaces a finished result.
    parked = cache.get(_key(team_id, result.id))
    if parked is None or parked.status < result.status:
        cache.set(_key(team_id, result.id), result, PARK_SECONDS)


def claim(team_id, akool_ids):
    """The parked results for these ids ({akool_id: ImageResult}), removed from the cache."""
    keys = {_key(team_id, akool_id): akool_id for akool_id in akool_ids if akool_id}
    if not keys:
        return {}
    found = cache.get_many(list(keys))
    if found:
        cache.delete_many(list(found))
    return {keys[key]: result for key, result in found.items()}
