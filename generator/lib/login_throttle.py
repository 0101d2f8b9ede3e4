"""Throttling sign-ins and password-reset requests, on Django's cache.

Sign-in is limited two ways, so that an attacker cannot shut honest people out:

- per client address (see `client_address`): LOGIN_ADDRESS_FAILURE_LIMIT failed or refused
  attempts within LOGIN_LOCKOUT_SECONDS shut that address out for LOGIN_LOCKOUT_SECONDS. It
  stops one machine guessing, and only that machine.
- per account (by email, whether or not an account has it): after LOGIN_FAILURE_LIMIT failures
  each further attempt has to wait, the wait doubling with every failure up to
  LOGIN_DELAY_MAX_SECONDS. Guessing slows to a crawl wherever it comes from, while the owner,
  from their own address, is at most one short wait away from signing in. Attempts refused
  during the wait are not checked and do not lengthen it.

A successful sign-in or password reset clears the account's count; nothing but time clears an
address's count, or an attacker could reset it by signing in to an account of their own.

Keys hold hashes (never an email, an address or a password). Counting is a read-then-write, not
atomic: under a burst of parallel attempts a few extra may slip through, which is acceptable for
slowing guessing down. Each value carries its own timestamps because cache backends differ in
whether they keep an entry's expiry on update.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

# Failures on an account are forgotten this long after the last one.
ACCOUNT_MEMORY_SECONDS = 24 * 3600

# Password-reset requests: each email gets a few mails an hour, each address a few more
# requests (a mistyped address or two). Over the email limit the request is answered as
# usual but no mail goes out, so the answer never tells whether an account exists.
RESET_WINDOW_SECONDS = 3600
RESET_PER_EMAIL = 3
RESET_PER_ADDRESS = 10


def _now():
    return time.time()


def normalize_email(email):
    return (email or "").strip().lower()


def _key(kind, value):
    return f"throttle:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _count_in_window(key, window, now):
    """Add one to a fixed-window counter; return (count, seconds until the window ends)."""
    count, started = cache.get(key) or (0, now)
    if started + window <= now:
        count, started = 0, now
    count += 1
    remaining = started + window - now
    cache.set(key, (count, started), timeout=math.ceil(remaining))
    return count, remaining


def account_delay(failures):
    """Seconds an account with `failures` recent failures makes the next attempt wait."""
    over = failures - settings.LOGIN_FAILURE_LIMIT
    if over < 0:
        return 0
    return min(settings.LOGIN_DELAY_MAX_SECONDS, 2 ** min(over, 32))


# --- sign-in ---------------------------------------------------------------------------------


def sign_in_wait(email, ip):
    """Seconds before this address may try signing in to this email, 0 when it may now."""
    now = _now()
    wait = 0
    if ip:
        until = cache.get(_key("login-ip-lock", ip))
        if until is not None:
            wait = max(wait, until - now)
    record = cache.get(_key("login-account", normalize_email(email)))
    if record is not None:
        failures, last = record
        wait = max(wait, last + account_delay(failures) - now)
    return max(0, wait)


def _count_address(ip, now):
    if not ip:
        return
    count, _ = _count_in_window(_key("login-ip", ip), settings.LOGIN_LOCKOUT_SECONDS, now)
    if count >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        lockout = settings.LOGIN_LOCKOUT_SECONDS
        cache.set(_key("login-ip-lock", ip), now + lockout, timeout=lockout)
        cache.delete(_key("login-ip", ip))


def record_refused(ip):
    """An attempt refused unchecked still counts against the address that made it."""
    _count_address(ip, _now())


def record_failure(email, ip):
    now = _now()
    _count_address(ip, now)
    key = _key("login-account", normalize_email(email))
    failures, _last = cache.get(key) or (0, now)
    cache.set(key, (failures + 1, now), timeout=ACCOUNT_MEMORY_SECONDS)


def clear_account(email):
    """After a successful sign-in or password reset: the account starts afresh."""
    cache.delete(_key("login-account", normalize_email(email)))


def _in_words(seconds):
    if seconds < 60:
        seconds = max(1, math.ceil(seconds))
        return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def lockout_message(seconds):
    return f"Too many failed sign-in attempts. Try again in {_in_words(seconds)}."


# --- password reset --------------------------------------------------------------------------


def reset_request(email, ip):
    """Count one password-reset request. Returns (wait, send): `wait` > 0 refuses the request
    outright (too many from this address); otherwise send the mail only when `send`."""
    now = _now()
    if ip:
        count, remaining = _count_in_window(_key("reset-ip", ip), RESET_WINDOW_SECONDS, now)
        if count > RESET_PER_ADDRESS:
            return remaining, False
    count, _ = _count_in_window(
        _key("reset-email", normalize_email(email)), RESET_WINDOW_SECONDS, now
    )
    return 0, count <= RESET_PER_EMAIL


def reset_refused_message(seconds):
    return f"Too many password reset requests from your network. Try again in {_in_words(seconds)}."


# --- share-link passwords --------------------------------------------------------------------

# Wrong passwords for one share link from one address: after this many within the window that
# address waits for the window's end before trying that link again. Other visitors of the link
# are not affected, and a link's password is short-lived by design.
SHARE_FAILURE_LIMIT = 5
SHARE_WINDOW_SECONDS = 15 * 60


def _share_key(link_code, ip):
    return _key("share", f"{link_code}|{ip}")


def share_password_wait(link_code, ip):
    """Seconds before this address may try this link's password again, 0 when it may now."""
    count, started = cache.get(_share_key(link_code, ip)) or (0, 0)
    if count < SHARE_FAILURE_LIMIT:
        return 0
    return max(0, started + SHARE_WINDOW_SECONDS - _now())


def record_share_failure(link_code, ip):
    _count_in_window(_share_key(link_code, ip), SHARE_WINDOW_SECONDS, _now())


def share_lockout_message(seconds):
    return f"Too many wrong passwords. Try again in {_in_words(seconds)}."
