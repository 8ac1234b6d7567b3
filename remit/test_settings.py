"""Settings for the test suite: the production settings with test-only relaxations."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from remit.settings import *  # noqa: F403
from remit.settings import STORAGES

# Argon2 still, with cheap parameters: the suite creates many users.
PASSWORD_HASHERS = ["remit.core.hashers.FastArgon2PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_FAILURE_LIMIT = 5
# Serve static files from the source tree (the browser tests' live server), no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Several checkouts may run their suites on one PostgreSQL server at once: give each its own
# test database name (pytest-xdist adds a per-worker suffix to it). On SQLite the test database is
# a file, not shared-cache memory: the concurrency tests need real locks with a busy timeout.
import hashlib  # noqa: E402

_checkout = hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:6]  # noqa: F405, S324
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_checkout}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_checkout}"}  # noqa: F405

# One cache per test process (tests/conftest.py empties it before every test): the suites of
# several checkouts, and the xdist workers of one, never share entries.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Payments in tests: wait for nothing.
RECONCILE_NOT_FOUND_AFTER = 300

# Every request body that reaches Remit, for the browser tests that prove no card data does.
MIDDLEWARE = ["remit.testing.recorder.RequestBodyRecorder", *MIDDLEWARE]  # noqa: F405
