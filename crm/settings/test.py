"""Settings for pytest: the same database engine as production, fast hashing, no HTTPS."""

import os

from crm.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-not-a-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory for the test process; a worker subprocess cannot share that memory, so the
# tests that start one pass e.g. TEST_EMAIL_BACKEND=tests.mailbox.FileMailbox.
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run in one process against one database; a persistent connection only holds locks.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
