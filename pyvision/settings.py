"""Django settings. Every setting that can change is read from the environment here,
and only here; the README lists them all.

The defaults are the embedded mode: no server to install, everything under
PYVISION_DATA_DIR (SQLite in WAL mode, media files, the filesystem broker).
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("PYVISION_DATA_DIR", BASE_DIR.parent / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def embedded_secret_key() -> str:
    """A random key kept in the data folder, so the embedded mode needs no setup.

    Deployments set DJANGO_SECRET_KEY instead.
    """
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or embedded_secret_key()
DEBUG = env_bool("PYVISION_DEBUG")
ALLOWED_HOSTS = env_list("PYVISION_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("PYVISION_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "pyvision.synsets",
    "pyvision.custom_models",
    "pyvision.recognition",
    "pyvision.web",
    "pyvision.accounts",
    # REST API
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pyvision.api",
    "pyvision.ops",
    "pyvision.meaning",
    "pyvision.similar",
]

MIDDLEWARE = [
    # Before the host check and the HTTPS redirect: probes come by IP over plain HTTP.
    "pyvision.ops.middleware.answer_probes",
    # Next: it turns the error pages of everything below into JSON under /api/.
    "pyvision.api.middleware.json_errors",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before the rest: a refused login costs as little as possible.
    "pyvision.accounts.middleware.login_limits",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pyvision.web.middleware.private_pages_not_stored",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pyvision.web.middleware.browser_time_zone",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pyvision.web.middleware.content_security_policy",
]

ROOT_URLCONF = "pyvision.urls"
WSGI_APPLICATION = "pyvision.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pyvision.web.context.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'pyvision.sqlite3'}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The threads of a process take turns to write (pyvision/sqlite), and keep their connection.
    DATABASES["default"]["ENGINE"] = "pyvision.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE makes a
        # writer wait for the lock (up to the timeout) instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # A database host that does not answer fails the request in seconds, with a 503,
    # instead of holding a web thread (and the client) for minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文")]
TIME_ZONE = os.environ.get("PYVISION_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# The site's own catalogue, compiled .mo included, so that any checkout serves every language.
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Distributed mode: images in an S3-compatible bucket instead of the local folder, so web
# and workers on different hosts share nothing on disk. Objects stay private: the site
# streams them through its own view, or hands out presigned URLs that expire.
S3_BUCKET = os.environ.get("PYVISION_S3_BUCKET", "")
if S3_BUCKET:
    from botocore.config import Config as S3ClientConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("PYVISION_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("PYVISION_S3_REGION") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "addressing_style": "path" if env_bool("PYVISION_S3_PATH_STYLE") else None,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("PYVISION_S3_URL_SECONDS", "300")),
            # Stored names are random (recognition.models.stored_name): no HEAD request
            # per upload to look for a name already taken.
            "file_overwrite": True,
            # Fail fast when the store is down: the upload gets a clear error, /readyz says so.
            "client_config": S3ClientConfig(
                connect_timeout=3, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}),
        },
    }

# Uploads: the size limit is checked by the view; Django itself refuses bodies much
# larger than that before reading them.
MAX_UPLOAD_BYTES = int(float(os.environ.get("PYVISION_MAX_UPLOAD_MB", "20")) * 1024 * 1024)
# A JSON body, held in memory whole: one image of the upload limit in base64.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES * 4 // 3 + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
# The site's page sends one file per request; a form sent without its script may
# carry a batch, up to this many.
DATA_UPLOAD_MAX_NUMBER_FILES = 50

# People may try the service without an account; their images belong to the browser
# session and are deleted after ANONYMOUS_RETENTION_HOURS.
ALLOW_ANONYMOUS = env_bool("PYVISION_ANONYMOUS", True)
ANONYMOUS_RETENTION_HOURS = int(os.environ.get("PYVISION_ANONYMOUS_RETENTION_HOURS", "24"))

# Accounts: password reset mails go to the console unless an SMTP server is set.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my-images"
LOGOUT_REDIRECT_URL = "home"
EMAIL_HOST = os.environ.get("PYVISION_EMAIL_HOST", "")
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = int(os.environ.get("PYVISION_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("PYVISION_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PYVISION_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PYVISION_EMAIL_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("PYVISION_EMAIL_FROM", "pyvision <noreply@localhost>")
# Images per page in "My images" and classes per page in "Objects".
PAGE_SIZE = int(os.environ.get("PYVISION_PAGE_SIZE", "24"))

# Recognition
MAX_IMAGE_PIXELS = int(os.environ.get("PYVISION_MAX_PIXELS", "50000000"))
DEFAULT_MODEL = os.environ.get("PYVISION_DEFAULT_MODEL", "lite0")

# Custom models (`pyvision models add`) and the service that translates their labels' names.
CUSTOM_MODEL_MAX_BYTES = int(float(os.environ.get("PYVISION_CUSTOM_MODEL_MAX_MB", "200")) * 1024 * 1024)
TRANSLATOR = os.environ.get("PYVISION_TRANSLATOR", "")
BAIDU_APPID = os.environ.get("PYVISION_BAIDU_APPID", "")
BAIDU_SECRET = os.environ.get("PYVISION_BAIDU_SECRET", "")
BAIDU_URL = os.environ.get("PYVISION_BAIDU_URL", "https://fanyi-api.baidu.com/api/trans/vip/translate")
# The free tier allows one query a second.
BAIDU_QUERIES_PER_SECOND = float(os.environ.get("PYVISION_BAIDU_QPS", "1"))
# Worker: one process, a thread per concurrent recognition: the threads decode in
# parallel and share batches of up to WORKER_BATCH_SIZE images through the model, which
# runs on ENGINE_THREADS threads.
ENGINE_THREADS = int(os.environ.get("PYVISION_ENGINE_THREADS", str(os.cpu_count() or 1)))
WORKER_POOL = os.environ.get("PYVISION_WORKER_POOL", "threads")
WORKER_CONCURRENCY = int(os.environ.get("PYVISION_WORKER_CONCURRENCY", "4"))
WORKER_BATCH_SIZE = int(os.environ.get("PYVISION_WORKER_BATCH_SIZE", "4"))
WEB_PROCESSES = int(os.environ.get("PYVISION_WEB_PROCESSES", "1"))
WEB_THREADS = int(os.environ.get("PYVISION_WEB_THREADS", "8"))
# Connections a web process holds open at once, slow ones included (pyvision.webserver).
WEB_CONNECTIONS = int(os.environ.get("PYVISION_WEB_CONNECTIONS", "1000"))
# A recognition still queued after this long is enqueued again (its message may have
# been lost). One that is running comes back when its worker's heartbeat stops.
RECOGNITION_STALE_SECONDS = int(os.environ.get("PYVISION_STALE_SECONDS", "120"))
# A recognition whose worker was lost this many times fails instead of being retried.
RECOGNITION_MAX_ATTEMPTS = int(os.environ.get("PYVISION_MAX_ATTEMPTS", "3"))
# Backpressure: with this many recognitions queued, new uploads are refused (503).
QUEUE_LIMIT = int(os.environ.get("PYVISION_QUEUE_LIMIT", "1000"))
# /readyz says "degraded" when the oldest queued recognition has waited longer than this.
QUEUE_DELAY_WARNING_SECONDS = int(os.environ.get("PYVISION_QUEUE_DELAY_WARNING", "60"))
# Abuse: what one owner (a user, or an anonymous session) may take. Megapixels of its
# recognitions queued or running (past that: 429, and its turn comes); megabytes of
# stored originals (past that: 413). Decoding reserves its memory from a budget per
# process, so large images decode in turn instead of all at once.
OWNER_QUEUE_MEGAPIXELS = int(os.environ.get("PYVISION_OWNER_QUEUE_MEGAPIXELS", "1000"))
STORAGE_QUOTA_BYTES = int(float(os.environ.get("PYVISION_STORAGE_QUOTA_MB", "5000")) * 1024 * 1024)
ANONYMOUS_STORAGE_QUOTA_BYTES = int(float(os.environ.get("PYVISION_ANONYMOUS_STORAGE_QUOTA_MB", "100")) * 1024 * 1024)
# The cookie-less API calls of one address are one owner: several programs, or everyone
# behind a NAT, may share it.
ADDRESS_STORAGE_QUOTA_BYTES = int(float(os.environ.get("PYVISION_ADDRESS_STORAGE_QUOTA_MB", "1000")) * 1024 * 1024)
DECODE_MEMORY_BYTES = int(float(os.environ.get("PYVISION_DECODE_MEMORY_MB", "256")) * 1024 * 1024)
# Hedged answers: the most specific class or ancestor the model is at least this sure of.
HEDGE_CONFIDENCE = float(os.environ.get("PYVISION_HEDGE_CONFIDENCE", "0.95"))

# Stateless classification (POST /api/v1/classify) runs in the web process: each web
# process loads the models it is asked for once, and its concurrent requests share
# batches of up to CLASSIFY_BATCH_SIZE images. A batch leaves as soon as the model is
# free, after waiting CLASSIFY_BATCH_WAIT_MS at most for more images; past
# CLASSIFY_QUEUE_LIMIT images waiting, requests are refused (503).
CLASSIFY_MAX_IMAGES = 16
CLASSIFY_BATCH_SIZE = int(os.environ.get("PYVISION_CLASSIFY_BATCH_SIZE", "4"))
CLASSIFY_BATCH_WAIT_MS = float(os.environ.get("PYVISION_CLASSIFY_BATCH_WAIT_MS", "0"))
CLASSIFY_QUEUE_LIMIT = int(os.environ.get("PYVISION_CLASSIFY_QUEUE_LIMIT", "64"))
CLASSIFY_ENGINE_THREADS = int(os.environ.get("PYVISION_CLASSIFY_ENGINE_THREADS", str(os.cpu_count() or 1)))

# Celery. The default broker is kombu's filesystem transport: two processes on one
# machine exchange messages through a folder, with no server to install.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("PYVISION_BROKER_URL", "filesystem://")
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
# A recognition whose client is waiting (?wait, or the site's page) is recognised by the
# web process that received it, with the models classify loads (recognition/inline.py), if
# its image has at most INLINE_MAX_MEGAPIXELS; larger ones, and all of them with 0, go to
# the workers. The default: 16 in the embedded mode, 0 in the distributed mode, whose
# workers have hosts of their own for that work.
INLINE_MAX_PIXELS = int(float(os.environ.get("PYVISION_INLINE_MAX_MEGAPIXELS", "16" if EMBEDDED_BROKER else "0"))
                        * 1_000_000)
if EMBEDDED_BROKER:
    # kombu's filesystem transport, writing each message atomically (see broker.py).
    CELERY_BROKER_TRANSPORT = "pyvision.broker:Transport"
    (BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # An idle worker lists the folder this often: every 5 ms it took 28% of a core
        # from the web process, every 100 ms 4%. What it adds to a queued recognition's
        # wait does not reach a waiting client, which the web process serves itself.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Distributed brokers (redis://, amqp://): a worker that loses the broker drops what it
# was running, since the broker hands those messages out again (late acknowledgement).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# An upload never waits long on a broker that is down: the sweep sends its task later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

LOG_LEVEL = os.environ.get("PYVISION_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"recognition": {"()": "pyvision.recognition.logs.RecognitionFilter"},
                "not_unavailable_or_refused": {"()": "django.utils.log.CallbackFilter",
                                               "callback": "ext://pyvision.ops.logs.not_unavailable_or_refused"}},
    "formatters": {"plain": {
        "format": "%(asctime)s %(levelname)s %(name)s recognition=%(recognition_id)s pid=%(process)d %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["recognition"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # libvips says at INFO what each operation does: several lines for every large image.
    "loggers": {"django.request": {"filters": ["not_unavailable_or_refused"]}, "pyvips": {"level": "WARNING"}},
}

# Production hardening: on unless PYVISION_DEBUG is set or the site is plain HTTP
# on loopback (the embedded default).
SECURE = env_bool("PYVISION_HTTPS")
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("PYVISION_HSTS_SECONDS", "31536000")) if SECURE else 0
# Both bind more than this site (every subdomain; browsers' built-in lists, hard to leave):
# only when the operator asks. Django's deployment check is told so.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PYVISION_HSTS_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("PYVISION_HSTS_PRELOAD")
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    SILENCED_SYSTEM_CHECKS.append("security.W005")
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("PYVISION_BEHIND_PROXY") else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A static file missing from the manifest (collectstatic not run yet, as in tests)
# is served under its plain name instead of failing the page.
WHITENOISE_MANIFEST_STRICT = False

# Every limit (the API's and the site's upload rates, logins, registrations, reset mails)
# counts in this cache, so all web processes see the same counts: a file in the data
# folder by default (the processes of one host), Redis across hosts.
CACHE_URL = os.environ.get("PYVISION_CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ValueError(f"PYVISION_CACHE_URL must be a redis:// or rediss:// URL, not {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "pyvision.cache.DiskCache", "LOCATION": DATA_DIR / "cache",
                          "OPTIONS": {"size_limit": 64 * 2**20}}}
# Accounts: failed logins per account and per client address (site and admin),
# registrations and password-reset mails per address, reset mails per email address;
# "N/Mu" with u one of s, m, h, d: "10/15m" is 10 per 15 minutes. Past a limit the
# answer is 429 with a message, before any password is hashed.
RATE_LOGIN_ACCOUNT = os.environ.get("PYVISION_RATE_LOGIN_ACCOUNT", "10/15m")
RATE_LOGIN_ADDRESS = os.environ.get("PYVISION_RATE_LOGIN_ADDRESS", "30/15m")
RATE_REGISTER = os.environ.get("PYVISION_RATE_REGISTER", "5/h")
RATE_RESET_ADDRESS = os.environ.get("PYVISION_RATE_RESET_ADDRESS", "10/h")
RATE_RESET_EMAIL = os.environ.get("PYVISION_RATE_RESET_EMAIL", "3/h")

# REST API. Rate limits count recognitions created, per user (API token or session)
# and per client IP address for anonymous use; "N/sec", "N/min", "N/hour" or "N/day".
# The defaults let a person send a batch of 50 photos within a minute.
RATE_ANON = os.environ.get("PYVISION_RATE_ANON", "60/min")
RATE_USER = os.environ.get("PYVISION_RATE_USER", "120/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token scheme first: an unauthenticated request is answered 401 with
        # `WWW-Authenticate: Token`, not 403.
        "pyvision.api.authentication.ApiTokenAuthentication",
        "pyvision.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["pyvision.api.permissions.AnonymousIfAllowed"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["pyvision.api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "pyvision.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "pyvision.api.errors.exception_handler",
    # The client address is REMOTE_ADDR, or the proxy's X-Forwarded-For entry behind
    # one: a client cannot pick its own address to escape the per-IP limit.
    "NUM_PROXIES": 1 if env_bool("PYVISION_BEHIND_PROXY") else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "pyvision API",
    "DESCRIPTION": "Recognise what is in a photo: ImageNet classes, names in several languages, WordNet hierarchy.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from the public swagger.io validator: the docs call no other site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: a nullable object (a recognition's `error`) is `oneOf [Error, null]`, which
    # validators read as meant; 3.0's `nullable` beside `allOf` is read both ways.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "pyvision.api.schema.link_created_objects"],
}
# Recognition from a URL: only these ports, never an address inside the server's own
# networks unless listed in PYVISION_URL_ALLOWED_NETWORKS (CIDRs, e.g. an intranet).
URL_FETCH_PORTS = [int(port) for port in env_list("PYVISION_URL_PORTS", "80,443")]
URL_FETCH_ALLOWED_NETWORKS = env_list("PYVISION_URL_ALLOWED_NETWORKS", "")
URL_FETCH_CONNECT_TIMEOUT = float(os.environ.get("PYVISION_URL_CONNECT_TIMEOUT", "5"))
URL_FETCH_TIMEOUT = float(os.environ.get("PYVISION_URL_TIMEOUT", "15"))

# Monitoring (pyvision.ops): /metrics, and which dependency /readyz finds down, answer a
# request with this bearer token or from these networks (CIDRs); by default, nobody.
# Behind a proxy, the address is the last one of X-Forwarded-For.
BEHIND_PROXY = env_bool("PYVISION_BEHIND_PROXY")
METRICS_TOKEN = os.environ.get("PYVISION_METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("PYVISION_METRICS_ALLOWED_NETWORKS", "")
