"""Settings for akool-web, driven entirely by environment variables.

Every variable has a default that runs on a laptop (SQLite, django-q2's ORM broker, a local
media folder, the built-in Akool sandbox). The README lists every variable.
"""

import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


# --- strict environment helpers: a malformed value names its variable -------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}")


def env_int(name, default, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_float(name, default, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name, default="", schemes=("http", "https")):
    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
            f"got {raw!r}"
        )
    return raw.rstrip("/")


def env_networks(name):
    """Comma-separated IP addresses or CIDR networks, each checked, as normalized strings."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks (127.0.0.1, 10.0.0.0/8), got {item!r}"
            ) from None
    return networks


def database_from_url(name, url):
    """Turn postgres://user:pass@host:port/db?opt=val into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"{name} must start with postgres://, got scheme {parsed.scheme!r}"
        )
    if not parsed.path.strip("/"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/dbname")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
        # Two test runs on one server need their own test databases (default test_<name>).
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
    }


# --- core ------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# Rotation: the new key goes in SECRET_KEY, the old one here until signed links made with it
# (sessions, 7-day source-image links) have expired; see deploy/README.md.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    # For its vendored Swagger UI (static files and template): the API docs use no CDN.
    "ninja",
    "generator",
    "generator.sandbox",
    # Single sign-on: allauth's accounts (its models only; our own login pages stay) and social
    # accounts, and our OpenID Connect provider built on its (generator/sso/).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "generator.sso",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware: static files get the security headers but skip sessions.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "generator.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After HtmxMiddleware, which it reads.
    "generator.middleware.HtmxFailureMiddleware",
]

# --- HTTPS and browser security ---------------------------------------------------------------

# Behind a TLS-terminating proxy, turn on SECURE_PROXY_SSL_HEADER only if the proxy always sets
# (and overwrites) X-Forwarded-Proto; otherwise clients could claim HTTPS themselves.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- client addresses and sign-in throttling --------------------------------------------------

# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks; nginx on the same
# host: 127.0.0.1,::1). Empty: the connecting address is the client's and X-Forwarded-For is
# ignored. Without it, behind a proxy every client shares the proxy's address.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

# Sign-in throttling (generator/lib/login_throttle.py). Per account: after LOGIN_FAILURE_LIMIT
# failures each further attempt waits, the wait doubling per failure up to
# LOGIN_DELAY_MAX_SECONDS. Per client address: LOGIN_ADDRESS_FAILURE_LIMIT failed or refused
# attempts within LOGIN_LOCKOUT_SECONDS shut that address out for LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_DELAY_MAX_SECONDS = env_int("LOGIN_DELAY_MAX_SECONDS", 300, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

ROOT_URLCONF = "akool_web.urls"
WSGI_APPLICATION = "akool_web.wsgi.application"
AUTH_USER_MODEL = "generator.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "generator.context_processors.teams",
            ],
        },
    }
]

# --- database, cache, queue -----------------------------------------------------------------

DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "pgsql"))
if DATABASE_URL:
    DATABASES = {"default": database_from_url("DATABASE_URL", DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": Path(env_str("SQLITE_PATH", str(DATA_DIR / "db.sqlite3"))),
            # Kept between requests and tasks, as PostgreSQL's are: each new connection runs the
            # PRAGMAs and registers Django's SQL functions, and django-q's ORM broker closes an
            # expired one on every enqueue and dequeue.
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            # The web server and the worker write at the same time: WAL lets readers go on,
            # IMMEDIATE takes the write lock up front so transactions never deadlock upgrading.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Tests run a real worker process, so the test database must be a file it can open.
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }
# Rendered gallery cards, per process: keyed by the row's version, so nothing is shared or
# invalidated between processes (generator/templatetags/card_cache.py).
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "gallery-cards",
    "OPTIONS": {"MAX_ENTRIES": env_int("CARD_CACHE_ENTRIES", 5000, minimum=100)},
}

# Cores + 1: the follower task holds one worker slot while anything is in flight, so with
# only `cores` workers one core would sit idle during a burst of stores (docs/performance.md
# has the measurement).
Q_WORKERS = env_int("Q_WORKERS", (os.cpu_count() or 1) + 1, minimum=1, maximum=64)
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "akool-web"),
    "workers": Q_WORKERS,
    # No task runs near this: downloads have their own deadline well below it.
    "timeout": env_int("Q_TIMEOUT", 300, minimum=10),
    "retry": env_int("Q_TIMEOUT", 300, minimum=10) + 60,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    # Successful tasks are not kept: with a limit, django-q loads every kept success to prune
    # them after each task, which cost a worker more than a thumbnail. Failures are always kept
    # (admin: Failed tasks), and the app records what each task did on its own rows.
    "save_limit": -1,
    "poll": 0.2,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- passwords, i18n, static, media ----------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` copies here; WhiteNoise serves it (no separate static server).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
# Decided by the configured DEBUG, not the runtime one: pytest-django turns DEBUG off, yet a
# test run has no collectstatic output and serves static files straight from static/.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "media/"

# Media (originals, thumbnails, uploads) is never public: every file goes through a view that
# checks the team. Locally that view streams the file, or hands it to the proxy with
# X-Accel-Redirect (nginx) / X-Sendfile (Apache) when MEDIA_ACCEL_REDIRECT names the internal
# location prefix, e.g. "/protected-media/" (nginx) or "sendfile" (Apache).
MEDIA_ACCEL_REDIRECT = env_str("MEDIA_ACCEL_REDIRECT").strip()

STORAGE_BACKEND = env_str("STORAGE_BACKEND", "").strip().lower()
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME").strip()
if STORAGE_BACKEND not in ("", "local", "s3"):
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be local or s3, got {STORAGE_BACKEND!r}")
if not STORAGE_BACKEND:
    STORAGE_BACKEND = "s3" if AWS_STORAGE_BUCKET_NAME else "local"
if STORAGE_BACKEND == "s3":
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when STORAGE_BACKEND=s3")
    _addressing = env_str("AWS_S3_ADDRESSING_STYLE", "").strip().lower() or None
    if _addressing not in (None, "auto", "path", "virtual"):
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE must be auto, path or virtual, got {_addressing!r}"
        )
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_url("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME").strip() or None,
            # Empty means boto3's own chain (instance role, ~/.aws): no key in the env file.
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "addressing_style": _addressing,
            "signature_version": "s3v4",
            # Private objects; members get a presigned link that dies quickly after the view
            # has checked their team, so a leaked link is useless minutes later.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300, minimum=10),
            "file_overwrite": False,
        },
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": MEDIA_STORAGE,
    # Hashed, compressed names in production (cacheable forever); plain names while developing,
    # so a laptop needs no collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}


# --- local folders ---------------------------------------------------------------------------


def _make_folder(name, path):
    """Create a folder (and its parents), or fail naming the variable that chose it."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}: cannot create the folder {path} ({exc.strerror})"
        ) from None


# Made here, while settings load, because every entry point (manage.py and its commands,
# runserver, qcluster, gunicorn, pytest) loads settings before it opens the database or writes a
# file: a fresh clone needs no setup step, and no command depends on another having run first.
# Only the folders this configuration uses are made (none with PostgreSQL and S3), and one that
# cannot be made fails here, naming its variable, rather than later as SQLite's bare "unable to
# open database file".
if not DATABASE_URL:
    # DATA_DIR also holds the test databases (see TEST above).
    _make_folder("DATA_DIR", DATA_DIR)
    _make_folder(
        "SQLITE_PATH" if os.environ.get("SQLITE_PATH") else "DATA_DIR",
        DATABASES["default"]["NAME"].parent,
    )
if STORAGE_BACKEND == "local":
    _make_folder("MEDIA_ROOT" if os.environ.get("MEDIA_ROOT") else "DATA_DIR", MEDIA_ROOT)

# --- mail ------------------------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "akool-web@localhost")

# --- product ---------------------------------------------------------------------------------

ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)

# Keys that encrypt stored Akool credentials, newest first. Comma-separated Fernet keys.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off")
for _key in FIELD_ENCRYPTION_KEYS:
    if not re.fullmatch(r"[A-Za-z0-9_\-]{43}=", _key):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (44 url-safe base64 characters); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )

AKOOL_BASE_URL = env_url("AKOOL_BASE_URL", "https://openapi.akool.com")
# The built-in emulator of Akool's API, mounted at /sandbox/akool/. On for laptops and tests.
AKOOL_SANDBOX = env_bool("AKOOL_SANDBOX", DEBUG)
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
# Where the app's own processes (the worker) reach the sandbox.
AKOOL_SANDBOX_URL = env_url("AKOOL_SANDBOX_URL", f"http://127.0.0.1:{PORT}/sandbox/akool")
# Seconds a sandbox job spends queued and processing; tests and benchmarks shorten or fix them.
SANDBOX_QUEUE_SECONDS = env_float("SANDBOX_QUEUE_SECONDS", 1.0, minimum=0)
SANDBOX_GENERATION_SECONDS = env_float("SANDBOX_GENERATION_SECONDS", 4.0, minimum=0)
SANDBOX_URL_EXPIRY_SECONDS = env_int("SANDBOX_URL_EXPIRY_SECONDS", 7 * 24 * 3600, minimum=1)
SANDBOX_START_CREDIT = env_int("SANDBOX_START_CREDIT", 10_000, minimum=0)
# Fault injection for tests and demos: the share of API calls that fail at random.
SANDBOX_FAULT_RATE = env_float("SANDBOX_FAULT_RATE", 0.0, minimum=0)
SANDBOX_FAULT_SEED = env_str("SANDBOX_FAULT_SEED") or None
SANDBOX_FAULT_SLOW_SECONDS = env_float("SANDBOX_FAULT_SLOW_SECONDS", 3.0, minimum=0)
SANDBOX_DROP_SLEEP_SECONDS = env_float("SANDBOX_DROP_SLEEP_SECONDS", 120.0, minimum=0)
SANDBOX_WEBHOOK_BACKOFF_SECONDS = env_float("SANDBOX_WEBHOOK_BACKOFF_SECONDS", 1.0, minimum=0)

# What one image is estimated to cost before Akool reports the real `deduction_credit`. Budgets
# reserve this much per image, so setting it too low lets a team overshoot its budget. The
# defaults follow Akool's published v4 price, the same at both resolutions.
CREDITS_PER_IMAGE_1080P = env_int("CREDITS_PER_IMAGE_1080P", 1, minimum=0)
CREDITS_PER_IMAGE_4K = env_int("CREDITS_PER_IMAGE_4K", 1, minimum=0)

# Words and phrases no prompt may contain, on top of each team's own list (comma-separated;
# whole words, case-insensitive): see generator/moderation.py.
BLOCKED_PROMPT_PHRASES = env_list("BLOCKED_PROMPT_PHRASES")

# Seconds the usage page keeps a team's Akool balance before asking Akool again (0: every view).
USAGE_BALANCE_CACHE_SECONDS = env_int("USAGE_BALANCE_CACHE_SECONDS", 60, minimum=0)

# The app's address as Akool sees it. When set, Akool posts webhooks here and uploaded source
# images are served from here; when empty the app relies on polling alone.
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL")

# Pipeline timings. Leases say how long a worker may hold a step before another takes over;
# tests shorten them to show crash recovery quickly.
# A create call is never retried, so it waits this long for Akool's answer before its outcome
# counts as unknown.
AKOOL_CREATE_TIMEOUT_SECONDS = env_int("AKOOL_CREATE_TIMEOUT_SECONDS", 120, minimum=1)
# Longer than a create may take, or a slow (but answered) create would be declared unknown.
SUBMIT_LEASE_SECONDS = env_int("SUBMIT_LEASE_SECONDS", AKOOL_CREATE_TIMEOUT_SECONDS + 60, minimum=1)
# How long after Akool reports an image done a 403/404 from its CDN is retried (the file may
# not have reached every edge yet) before the link counts as expired.
RESULT_LINK_GRACE_SECONDS = env_int("RESULT_LINK_GRACE_SECONDS", 600, minimum=0)
STORE_LEASE_SECONDS = env_int("STORE_LEASE_SECONDS", 300, minimum=1)
POLLER_LEASE_SECONDS = env_int("POLLER_LEASE_SECONDS", 45, minimum=1)
DOWNLOAD_DEADLINE_SECONDS = env_int("DOWNLOAD_DEADLINE_SECONDS", 120, minimum=1)

# How often an open gallery with nothing pending asks whether a teammate added or removed
# anything (while something is pending it asks every 2 s). The check answers from indexes
# without rendering a card, and hidden tabs do not ask at all, so it can be frequent enough that
# a teammate's image reaches an idle open page about as soon as it reaches the submitter's.
GALLERY_SLOW_POLL_SECONDS = env_int("GALLERY_SLOW_POLL_SECONDS", 3, minimum=1)
# The largest ZIP of originals one download may be; a larger selection is refused before any
# byte is sent. The archive streams, so this bounds transfer time, not server memory.
ZIP_MAX_BYTES = env_int("ZIP_MAX_BYTES", 10 * 1024**3, minimum=1)

# The REST API (/api/v1/): requests one API token may make per minute before it gets 429s.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
# --- single sign-on (OpenID Connect) ---------------------------------------------------------

# Sign-in with the company's identity provider (Keycloak, Okta, Entra ID, Google Workspace…)
# through django-allauth. On when OIDC_ISSUER_URL is set; the provider's discovery document is
# read from <issuer>/.well-known/openid-configuration. Register the callback
# <PUBLIC_BASE_URL>/sso/oidc/login/callback/ at the provider.
OIDC_ISSUER_URL = env_url("OIDC_ISSUER_URL")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID").strip()
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET").strip()
OIDC_DISPLAY_NAME = env_str("OIDC_DISPLAY_NAME", "your company account").strip()
# Space- or comma-separated; "openid" is required by the protocol.
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile").replace(",", " ").split()
# The claim (in the ID token or userinfo) listing the person's groups, and the groups that put
# people in teams: "group:team-code:role" entries, comma-separated (generator/sso/groups.py).
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups").strip()
OIDC_GROUP_ROLES = env_str("OIDC_GROUP_ROLES").strip()
# Seconds of clock difference with the provider accepted when checking an ID token's times.
OIDC_CLOCK_SKEW_SECONDS = env_int("OIDC_CLOCK_SKEW_SECONDS", 60, minimum=0, maximum=600)
OIDC_ENABLED = bool(OIDC_ISSUER_URL)
if OIDC_ENABLED:
    if not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set when OIDC_ISSUER_URL is"
        )
    if "openid" not in OIDC_SCOPES:
        raise ImproperlyConfigured(f"OIDC_SCOPES must include openid, got {OIDC_SCOPES!r}")

# Off: only superusers may sign in with a password (the break-glass account, in case the
# identity provider is down); everyone else uses single sign-on, and password resets are off.
PASSWORD_SIGN_IN = env_bool("PASSWORD_SIGN_IN", True)
if not PASSWORD_SIGN_IN and not OIDC_ENABLED:
    raise ImproperlyConfigured("PASSWORD_SIGN_IN=0 needs single sign-on: set OIDC_ISSUER_URL")

# The id in the callback URL, and the one provider allauth is told about.
OIDC_PROVIDER_ID = "oidc"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": OIDC_DISPLAY_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_ISSUER_URL,
                    "scope": OIDC_SCOPES,
                    # allauth leaves PKCE off by default; every provider named above takes it.
                    "oauth_pkce_enabled": True,
                },
            }
        ]
        if OIDC_ENABLED
        else []
    }
}
# allauth is used for the identity provider's sign-in only: our own views sign people in with
# a password, so its account settings just describe our user model (the email is the login).
ACCOUNT_ADAPTER = "generator.sso.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "generator.sso.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_UNIQUE_EMAIL = True
# The provider vouches for the address (its email_verified claim); we send no mail of our own.
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
# Linking to an existing account by email is decided by our adapter (verified claims only).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
# The sign-in button posts (with CSRF), so a link elsewhere cannot start a sign-in.
SOCIALACCOUNT_LOGIN_ON_GET = False
# Access and refresh tokens are not needed after sign-in; do not keep them.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10

# --- logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact": {"()": "generator.lib.log_filters.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request logs name the path, which for webhooks, signed links, invitations and
        # password resets holds a token. django.server (runserver) has its own handler.
        "django.server": {"level": "WARNING", "filters": ["redact"]},
        "django.request": {"filters": ["redact"]},
        # Their debug lines print whole request URLs, and a chat webhook's URL is its secret
        # (generator/notify/send.py): never below WARNING, whatever LOG_LEVEL says.
        "apprise": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # libvips reports every thumbnail it makes at INFO.
        "pyvips": {"level": "WARNING"},
    },
}
