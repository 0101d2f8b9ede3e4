"""Sign-in throttling on Django's cache: failed attempts counted per email and per client address.

Keys hold a hash of the email (never the address itself, never the password). Counting is a
read-then-write, not atomic: under a burst of parallel guesses a few extra attempts may slip in
before the lock lands, which is acceptable for slowing guessing down. Each value carries its own
timestamps because the cache backends differ in whether `incr` keeps an entry's expiry.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

# One address may try several accounts (a shared office, a proxy); it gets more room than one
# email, so one person's typos never lock out colleagues behind the same address.
IP_LIMIT_FACTOR = 4


def _now():
    return time.time()


def normalize_email(email):
    return (email or "").strip().lower()


def _subjects(email, ip):
    digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
    subjects = [(f"login-throttle:email:{digest}", settings.LOGIN_FAILURE_LIMIT)]
    if ip:
        ip_digest = hashlib.sha256(ip.encode()).hexdigest()
        subjects.append(
            (f"login-throttle:ip:{ip_digest}", settings.LOGIN_FAILURE_LIMIT * IP_LIMIT_FACTOR)
        )
    return subjects


def client_ip(request):
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request. Behind a reverse
    # proxy every request shares the proxy's address, which the higher per-address limit allows.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def locked_for(email, ip):
    """Seconds until sign-in is allowed again for this email or address, 0 when not locked."""
    now = _now()
    remaining = 0
    for key, _limit in _subjects(email, ip):
        until = cache.get(key + ":lock")
        if until is not None and until > now:
            remaining = max(remaining, until - now)
    return remaining


def record_failure(email, ip):
    now = _now()
    window = settings.LOGIN_LOCKOUT_SECONDS
    for key, limit in _subjects(email, ip):
        count, started = cache.get(key, (0, now))
        if started + window <= now:
            count, started = 0, now
        count += 1
        if count >= limit:
            cache.set(key + ":lock", now + window, timeout=window)
            cache.delete(key)
        else:
            cache.set(key, (count, started), timeout=math.ceil(started + window - now))


def record_success(email):
    key, _limit = _subjects(email, None)[0]
    cache.delete(key)


def lockout_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-in attempts. Try again in {minutes} {unit}."
