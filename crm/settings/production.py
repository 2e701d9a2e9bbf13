"""Production: everything from the environment, HTTPS everywhere, no default secret."""

from django.core.exceptions import ImproperlyConfigured

from crm.settings.base import *  # noqa: F403
from crm.settings.base import env_bool

SECRET_KEY = os.environ.get("SECRET_KEY", "")  # noqa: F405
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment in production.")
DEBUG = env_bool("DEBUG", False)

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))  # noqa: F405
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

# Log lines as JSON objects, for a log collector (LOG_FORMAT=plain for people).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"  # noqa: F405
