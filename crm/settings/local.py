"""Zero-setup local development: embedded PostgreSQL, emails on the console, DEBUG on."""

from crm.settings.base import *  # noqa: F403
from crm.settings.base import env_bool

DEBUG = env_bool("DEBUG", True)
# A fixed key is fine here: local.py is never used in production (production.py requires one).
SECRET_KEY = os.environ.get("SECRET_KEY") or "local-development-only-not-a-secret"  # noqa: F405
EMAIL_BACKEND = os.environ.get(  # noqa: F405
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
