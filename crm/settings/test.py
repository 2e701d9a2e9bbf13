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

# Under pytest-xdist (CI runs the suite on two workers) each worker process has its own
# test database (pytest-django names it after the worker) and, here, its own broker queues
# and cache keys on the shared Redis, so one worker's Celery subprocesses never take
# another's tasks and a rate limit counted by one never refuses the other's requests.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … or unset
if XDIST_WORKER:
    CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-{XDIST_WORKER}"  # noqa: F405
    CELERY_TASK_ROUTES = {
        pattern: {**route, "queue": f"{route['queue']}-{XDIST_WORKER}"}
        for pattern, route in CELERY_TASK_ROUTES.items()  # noqa: F405
    }
    CELERY_QUEUE_NAMES = [f"{name}-{XDIST_WORKER}" for name in CELERY_QUEUE_NAMES]  # noqa: F405
    CELERY_TASK_QUEUES = celery_queues(CELERY_QUEUE_NAMES)  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"crm-{XDIST_WORKER}"  # noqa: F405
