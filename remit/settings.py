"""Remit's settings. Everything that differs between deployments comes from the environment.

`DATABASE_URL` (SQLite under var/ when unset), `SECRET_KEY`, `ALLOWED_HOSTS`, `DEBUG`, the email
settings, `GATEWAY_URL` / `GATEWAY_SECURITY_KEY`. See README.md for the whole list.
"""

import hashlib
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REMIT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-not-secret-remit-demo-key-0123456789-abcdefghijklmnop"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The back office's own models, templates and static files; listed before the admin so that its
    # admin/ templates (branding) win over Django's.
    "remit.backoffice.apps.BackofficeConfig",
    "remit.backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # clients' recovery codes
    "remit.core",
    "remit.accounts",
    "remit.billing",
    "remit.audit",
    "remit.payments",
    "remit.portal",
    "ninja",  # serves Swagger UI's files from here, not a CDN (the CSP allows only 'self')
    "remit.api",
    "remit.webhooks",
    "remit.outbox",
    "remit.psa",
    "remit.autopay",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "remit.portal.card_data.RefuseCardDataMiddleware",  # before anything can keep a request
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "remit.core.middleware.NoStoreMiddleware",  # after WhiteNoise: static files stay cacheable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "remit.core.middleware.ResolvedUserMiddleware",  # request.user itself, not a lazy proxy
    "remit.backoffice.middleware.BackofficeAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "remit.core.middleware.ProviderMiddleware",
    "remit.accounts.middleware.ClientMFAMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "remit.urls"
# bench/pages.py's two floor views (remit/core/bench_floor.py); a 404 unless a bench turns them on.
BENCH_FLOOR_VIEWS = env_bool("REMIT_BENCH_FLOOR_VIEWS", False)
WSGI_APPLICATION = "remit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "remit" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "remit.core.context_processors.portal",
            ],
            "builtins": ["remit.core.templatetags.money"],
        },
    }
]

# --- Database ------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'remit.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the worker and the web server read while the other writes; IMMEDIATE takes the
        # write lock at BEGIN, so two writers queue up instead of failing on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiles a plan whose estimated cost passes jit_above_cost (100,000): the
    # portal's queries are small (a page of 50 rows by an index) but their estimates can pass it
    # (a deep "show paid" page with the payment-pending EXISTS was 533 ms with JIT, 182 ms
    # without), and compiling costs more than it could save on any query Remit makes. Off for the
    # app's own connections; `DATABASE_JIT=1` leaves the server's default.
    # `PGBOUNCER=1` (DATABASE_URL points at PgBouncer in transaction mode, docs/deploy.md): no
    # startup options (PgBouncer refuses `-c jit`; set `ALTER ROLE … SET jit = off` instead) and
    # no server-side cursors (a cursor would outlive the transaction's server connection).
    # Server-side binding, and the statements Remit names prepared on the server: PostgreSQL
    # parses them once per connection and keeps a generic plan for them (remit/core/prepared.py
    # `on_server`, the batch's writes in remit/core/batch.py). Those are look-ups by key, whose
    # plan is the same whatever the values. Everything else is planned for its values on each
    # run: after five runs of a prepared statement PostgreSQL switches to a generic plan made for
    # an average organization, which for a 100,000-invoice one read Home's balance 3× and the
    # "show paid" page's count 20× slower (bench/README.md, "Generic plans"). psycopg prepares
    # a statement asked for with `prepare=True` only while `prepare_threshold` is set, and of
    # its own accord once a query has run that many times: set beyond reach, only the named
    # statements are prepared. A column's type changed under a running process:
    # remit/core/stale_plans.py.
    # Off behind PgBouncer unless `DATABASE_PREPARED=1` says it keeps prepared statements
    # (PgBouncer 1.22 or later with max_prepared_statements set, libpq 17 or later; docs/deploy.md).
    if env_bool("DATABASE_PREPARED", not env_bool("PGBOUNCER", False)):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=2**31 - 1
        )
    if env_bool("PGBOUNCER", False):
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif not env_bool("DATABASE_JIT", False):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ---------------------------------------------------------------------------------------
# What every request reads (the provider row, the permissions of a security level, the session) is
# kept in Django's cache, which must be one cache for every process that serves Remit: an entry one
# process drops (a setting saved, a session ended) must be gone for the others too.
# - `CACHE_URL=redis://host:6379/0`: Redis, for several machines (docs/deploy.md).
# - unset: files under var/cache — shared by every process on this machine (the web server's
#   workers, `remit worker`), nothing to install or run. Not for several machines.
# The key prefix names the database, so two databases never read each other's entries.
CACHE_URL = os.environ.get("CACHE_URL", "")
_cache_prefix = hashlib.sha256(DATABASE_URL.encode()).hexdigest()[:8]
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": f"remit-{_cache_prefix}",
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// address, not {CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / _cache_prefix),
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# --- Accounts and sign-in ------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "remit.accounts.backends.RemitBackend",
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# django-axes: lock an email + IP pair out after repeated failures. Its state lives in the database,
# so every web process (and every machine) sees the same counters.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Counted per normalised email (remit.accounts.emails): casing or spaces do not make a new counter,
# and a sign-in in another casing neither gets past a lockout nor resets it.
AXES_USERNAME_CALLABLE = "remit.accounts.emails.axes_username"
AXES_IPWARE_META_PRECEDENCE_ORDER = env_list("AXES_IP_HEADERS", "REMOTE_ADDR")
AXES_VERBOSE = False

SESSION_COOKIE_AGE = 60 * 60 * 8
# Sessions are written to the database and read from the cache (one look-up, no query): correct
# across processes because the cache is shared (CACHES above), and a cache that loses an entry
# only costs a query, never a session.
SESSION_ENGINE = "remit.core.sessions"  # cached_db with the cache calls guarded
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Two-step sign-in (MFA). New staff set up their authenticator app from an invitation link, which
# works once and expires; clients may turn TOTP on themselves (docs/backoffice.md).
STAFF_INVITATION_HOURS = env_int("STAFF_INVITATION_HOURS", 72)
MFA_RECOVERY_CODES = 10

# --- Security headers (secure unless DEBUG; each can be turned off from the environment) ----------
SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Only our own, pinned scripts and styles run on any page (the payment page included).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage; pages use the provider's time zone (ProviderMiddleware)
USE_I18N = False
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "remit" / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ---------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Remit <billing@remit.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The worker's emails (receipts, notices, invitations, alerts) are retried while the mail server is
# unreachable or answers 4xx: after 1, 2, 4 … minutes, at most an hour apart, this many attempts.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 8)
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 60)
EMAIL_RETRY_MAX_SECONDS = env_int("EMAIL_RETRY_MAX_SECONDS", 3600)

# --- Background work -----------------------------------------------------------------------------
# Jobs are rows in our own database, written in the same transaction as the data that caused them.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Payment gateway (NMI protocol) --------------------------------------------------------------
# Defaults for the provider's gateway settings; the back office can override both.
GATEWAY_URL = os.environ.get("GATEWAY_URL", "")
GATEWAY_SECURITY_KEY = os.environ.get("GATEWAY_SECURITY_KEY", "")
GATEWAY_TOKENIZATION_KEY = os.environ.get("GATEWAY_TOKENIZATION_KEY", "")  # public (Collect.js)
# Payment page change detection (remit check-payment-page; docs/pci.md): the portal's public
# address to fetch the page from (empty: in-process), and how often the workers check.
PAYMENT_PAGE_CHECK_URL = os.environ.get("PAYMENT_PAGE_CHECK_URL", "")
PAYMENT_PAGE_CHECK_EVERY = env_int("PAYMENT_PAGE_CHECK_EVERY", 86400)
GATEWAY_CONNECT_TIMEOUT = float(os.environ.get("GATEWAY_CONNECT_TIMEOUT", "5"))
GATEWAY_READ_TIMEOUT = float(os.environ.get("GATEWAY_READ_TIMEOUT", "30"))
# The gateway refuses the same amount with the same card or account within this many seconds.
# NMI's default is 1200; ours is lower because a client may legitimately pay two invoices of the
# same amount with the same card minutes apart, and Remit's own attempt keys already stop double
# submits. The gateway's check is only the last line of defence. 0 turns it off.
GATEWAY_DUP_SECONDS = env_int("GATEWAY_DUP_SECONDS", 120)

# --- Payments ------------------------------------------------------------------------------------
# Card-testing defence: past these counts, online payment pauses for that user / organization / IP.
PAYMENT_LIMITS = {
    "failures_per_user_per_hour": env_int("LIMIT_FAILURES_PER_USER_PER_HOUR", 5),
    "failures_per_organization_per_hour": env_int("LIMIT_FAILURES_PER_ORGANIZATION_PER_HOUR", 10),
    "failures_per_ip_per_hour": env_int("LIMIT_FAILURES_PER_IP_PER_HOUR", 10),
    "new_methods_per_user_per_day": env_int("LIMIT_NEW_METHODS_PER_USER_PER_DAY", 5),
    "new_methods_per_organization_per_day": env_int(
        "LIMIT_NEW_METHODS_PER_ORGANIZATION_PER_DAY", 10
    ),
    "new_methods_per_ip_per_day": env_int("LIMIT_NEW_METHODS_PER_IP_PER_DAY", 10),
}
# A payment whose answer was lost, and which the gateway still has no record of after this many
# seconds, was never charged: reconciliation marks it failed.
RECONCILE_NOT_FOUND_AFTER = env_int("RECONCILE_NOT_FOUND_AFTER", 300)
# How often the worker looks for payments to reconcile, and how long eChecks are watched for returns.
RECONCILE_EVERY = env_int("RECONCILE_EVERY", 60)
# Autopay and payment reminders (remit/autopay/, docs/autopay.md): how often the worker looks for
# invoices to charge and reminders to send, and the portal's address for the links in emails.
AUTOPAY_EVERY = env_int("AUTOPAY_EVERY", 60)
REMINDERS_EVERY = env_int("REMINDERS_EVERY", 300)
PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000")
ECHECK_RETURN_WINDOW_DAYS = env_int("ECHECK_RETURN_WINDOW_DAYS", 60)
# A payment still processing this long after it started is taken as orphaned (the web worker died
# mid-call) and looked up first, with every unknown one.
RECONCILE_PROCESSING_GRACE = env_int("RECONCILE_PROCESSING_GRACE", 60)
# Each periodic run looks up at least this many payments (urgent ones first), and more when needed
# so that no watched payment goes unchecked longer than RECONCILE_MAX_INTERVAL seconds.
RECONCILE_BATCH = env_int("RECONCILE_BATCH", 500)
RECONCILE_MAX_INTERVAL = env_int("RECONCILE_MAX_INTERVAL", 3600)
# Staff are alerted (audit event, email, back-office badge) once per payment still processing or
# unknown this many seconds after it started.
RECONCILE_ALERT_AFTER = env_int("RECONCILE_ALERT_AFTER", 1800)

# --- Logging -------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_card_numbers": {"()": "remit.core.logging.MaskCardNumbersFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_card_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
