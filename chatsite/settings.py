"""Settings, all read from the environment (or a `.env` file beside manage.py).

Embedded defaults run the whole app on one machine: SQLite and models under
`./var/`, Redis on localhost. Production sets DATABASE_URL, REDIS_URL,
SECRET_KEY and ALLOWED_HOSTS.
"""

import os
import secrets
import tempfile
from pathlib import Path

import environ
from redis.exceptions import ConnectionError as RedisConnectionError

from core import static_headers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()


def _local_secret_key(data_dir: Path) -> str:
    """A per-install key kept in DATA_DIR, so sessions survive restarts
    without a secret ever being committed. It is written into a file that
    is 0600 from its creation (mkstemp: O_CREAT|O_EXCL, mode 0600), never
    readable by others even for a moment, and published whole with a link,
    which fails rather than replace the key of a process that won a race."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret_key-")
        try:
            with os.fdopen(descriptor, "w") as stream:
                stream.write(secrets.token_urlsafe(50))
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="") or _local_secret_key(DATA_DIR)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "accounts",
    # Sign-in, sign-up, email verification and single sign-on (accounts/adapters.py)
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "registry",
    "moderation",
    "chat",
    "openai_api",
    "labeling",
    "review",
    "arena",
    "evaluation",
    "jobs",
    "metrics",
    "usage",
]

MIDDLEWARE = [
    "core.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.telemetry.middleware.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SingleSignOnFormTargetsMiddleware",
    "accounts.middleware.ApprovalRequiredMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"
# Threads per web process for the WebSockets' database calls
# (core/db.py); keep DATABASE_POOL_MAX_SIZE at least this large.
WEB_DATABASE_THREADS = env.int("WEB_DATABASE_THREADS", default=16)

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
                "chatsite.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web tier read while a worker writes; the timeout rides out
    # short write locks instead of failing the request.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    # A file, not memory, so the worker processes that tests start share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
# PostgreSQL: each process keeps a pool of open connections (Django's psycopg
# pool) instead of opening one per request or WebSocket call (about 10 ms
# each, most of a busy web process's database time before the pool). The
# pool is per process: web processes x DATABASE_POOL_MAX_SIZE, plus each
# worker's, must stay under the server's max_connections (README, "Scaling
# out"). A thread that finds every connection taken waits up to
# DATABASE_POOL_TIMEOUT seconds, then the request is a 503, never a hang.
# 0 turns the pool off.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=20)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=2), DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# allauth's backend (username or email) behind the sign-in throttle
# (accounts/throttle.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledAuthenticationBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"
# Password reset emails: printed to the console unless EMAIL_BACKEND names
# another backend (django.core.mail.backends.smtp.EmailBackend, with the
# EMAIL_HOST... settings below; the password only from the environment).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="chatsite@localhost")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# New sign-ups wait for an admin's approval (Open WebUI's "pending" state).
ACCOUNTS_REQUIRE_APPROVAL = env.bool("ACCOUNTS_REQUIRE_APPROVAL", default=False)
ACCOUNTS_ALLOW_SIGNUP = env.bool("ACCOUNTS_ALLOW_SIGNUP", default=True)
# Accounts whose provider-verified email is in one of these domains skip the
# admin's approval when they sign up through single sign-on.
ACCOUNTS_AUTO_APPROVE_EMAIL_DOMAINS = [
    domain.lower().lstrip("@") for domain in env.list("ACCOUNTS_AUTO_APPROVE_EMAIL_DOMAINS", default=[])
]

# --- django-allauth (accounts/adapters.py) ---------------------------------
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "signup": "accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
# "mandatory": no sign-in until the address is confirmed (production, with a
# real EMAIL_BACKEND); "optional": a confirmation is sent, not waited for;
# "none": nothing is sent.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_SIGNUP_FIELDS = [
    "username*",
    "email*" if ACCOUNT_EMAIL_VERIFICATION == "mandatory" else "email",
    "password1*",
    "password2*",
]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Sessions last as Django's SESSION_COOKIE_AGE says, as before allauth (no
# "remember me" box).
ACCOUNT_SESSION_REMEMBER = True
# Failed sign-ins are counted in one place, Redis (accounts/throttle.py),
# shared by every web process; allauth's own sign-in limits are off. Its other
# limits (sign-ups, reset and confirmation emails) stay on, counted in the
# cache (CACHES, Redis).
ACCOUNT_RATE_LIMITS = {"login": False, "login_failed": False}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Chatsite] "
# A password reset asked for an address no account has sends nothing, as before allauth.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# A provider's button starts its sign-in with a POST (CSRF-checked), so GET
# on the provider's URL only shows a confirmation page.
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
# Providers from the environment only: no client secret is ever stored in the
# database (or its dumps). A provider shows on the sign-in page once its
# client id is set.
OIDC_PROVIDER_ID = env.str("OIDC_PROVIDER_ID", default="oidc")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="OpenID Connect")
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
GITHUB_CLIENT_ID = env.str("GITHUB_CLIENT_ID", default="")
GITHUB_CLIENT_SECRET = env.str("GITHUB_CLIENT_SECRET", default="")
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_SERVER_URL},
            }
        ]
        if OIDC_CLIENT_ID and OIDC_SERVER_URL
        else [],
    },
    "github": {
        "SCOPE": ["read:user", "user:email"],
        "APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET}] if GITHUB_CLIENT_ID else [],
    },
    "google": {
        "SCOPE": ["openid", "profile", "email"],
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}] if GOOGLE_CLIENT_ID else [],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# KaTeX and Mermaid come from npm (vendor/package-lock.json, installed by
# scripts/lib.sh vendor_install and the image build), served as they ship.
VENDOR_MODULES = BASE_DIR / "vendor" / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/katex", VENDOR_MODULES / "katex" / "dist"),
    ("vendor/mermaid", VENDOR_MODULES / "mermaid" / "dist"),
]
STATIC_ROOT = DATA_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_ADD_HEADERS_FUNCTION = static_headers.add_headers  # the diagram frame's own policy
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the chat page's fetch() calls read it
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- HTTPS: on in the production profile (chatsite/settings_production.py) --
# Cookies go only over TLS, plain HTTP is redirected (but for the health and
# metrics probes of load balancers and Prometheus), and browsers are told to
# use HTTPS for a year (HSTS).
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/ready$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
# The load balancers in front (addresses or networks, comma-separated, e.g.
# "127.0.0.1" or "10.0.0.0/8"): only a request that comes from one of them
# has its X-Forwarded-For and X-Forwarded-Proto believed, for the client's
# address (sign-in throttle, logs) and for HTTPS (core/proxy.py).
# Empty: no proxy, the peer is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Uploads ---------------------------------------------------------------
# No multipart request may carry more than this (core/uploads.py); each
# import has its own, lower limit on top (LABELING_IMPORT_MAX_MB, the corpus
# form's 512 MiB).
UPLOAD_MAX_MB = env.int("UPLOAD_MAX_MB", default=520)
FILE_UPLOAD_HANDLERS = [
    "core.uploads.RequestSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Sign-in rate limits (accounts/throttle.py) ---------------------------
# Failed sign-ins allowed free per account name from one client address, and
# per address across accounts (an IPv6 address counts as its /64); past
# either, each further failure makes that pair (or address) wait, from one
# minute doubling up to LOGIN_RETRY_MAX_SECONDS. Failures are forgotten
# LOGIN_FAILURE_WINDOW_SECONDS after the last one.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=86_400)
LOGIN_RETRY_MAX_SECONDS = env.int("LOGIN_RETRY_MAX_SECONDS", default=900)

# --- Redis: Celery broker, channel layer, cancel flags and heartbeats ------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels_redis blocks 5 s per receive; redis-py's default read
            # timeout is also 5 s, which would kill every idle socket.
            # A pooled connection that a Redis restart closed is dropped and
            # the command sent once more on a new one, instead of ending the
            # consumer that happened to draw it.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 30,
                    "socket_connect_timeout": 5,
                    "retry_on_error": [RedisConnectionError],
                }
            ],
            "prefix": env("CHANNEL_LAYER_PREFIX", default="asgi"),
            # channels_redis drops messages past a channel's capacity without a
            # word; deltas are coalesced, so this is many seconds of stream.
            "capacity": 2000,
            "expiry": 60,
        },
    }
}

# --- WebSockets (core/user_sockets.py) ---------------------------------
# Sockets (chat, arena and job pages together) one account may hold open
# across every web process; one more is closed with 4429. A socket counts
# until WEBSOCKET_LEASE_SECONDS after its process last renewed it (every
# third of that), so the sockets of a killed process stop counting then.
# 0: no cap.
WEBSOCKET_MAX_PER_USER = env.int("WEBSOCKET_MAX_PER_USER", default=10)
WEBSOCKET_LEASE_SECONDS = env.float("WEBSOCKET_LEASE_SECONDS", default=30.0)
# Frames one socket may send: WEBSOCKET_FRAME_BURST at once, refilled at
# WEBSOCKET_FRAMES_PER_SECOND; a socket past that is closed with 4429.
WEBSOCKET_FRAMES_PER_SECOND = env.float("WEBSOCKET_FRAMES_PER_SECOND", default=10.0)
WEBSOCKET_FRAME_BURST = env.int("WEBSOCKET_FRAME_BURST", default=30)

# /metrics: Prometheus sends this as a bearer token (empty: only signed-in
# admins get in). Its counters are kept in Redis under this key prefix.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_REDIS_PREFIX = env("METRICS_REDIS_PREFIX", default="metrics")

# Django's cache is Redis, shared by every web process: allauth counts its
# rate limits there (sign-ups, reset and confirmation emails, per address or
# per account), so N web processes do not allow N times each limit. Keys are
# prefixed as the channel layer's are, so instances sharing a Redis keep
# their counts apart.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
# The Celery queue the training workers read jobs from.
TRAINING_QUEUE = env("TRAINING_QUEUE", default="training")
CELERY_TASK_ROUTES = {
    "chat.tasks.moderate_user_message_task": {"queue": "moderation"},
    "chat.tasks.generate_answer_task": {"queue": "generation"},
    "chat.tasks.chat_import_task": {"queue": "moderation"},
    "labeling.tasks.demonstration_moderate_task": {"queue": "moderation"},
    "moderation.tasks.classifier_train_task": {"queue": TRAINING_QUEUE},
    "labeling.tasks.candidates_generate_task": {"queue": "generation"},
    "labeling.tasks.reward_margins_score_task": {"queue": "generation"},
    "arena.tasks.arena_version_check_task": {"queue": "generation"},
    "jobs.tasks.training_job_run_task": {"queue": TRAINING_QUEUE},
}
CELERY_TASK_DEFAULT_QUEUE = "moderation"
# Celery beat's schedule: chatsite/tasks.py ends work whose worker died.
HOUSEKEEPING_SECONDS = env.float("HOUSEKEEPING_SECONDS", default=15.0)
HOUSEKEEPING_QUEUE = env("HOUSEKEEPING_QUEUE", default="moderation")
CELERY_BEAT_SCHEDULE = {
    "reap-stale-work": {
        "task": "chatsite.tasks.reap_stale_work_task",
        "schedule": HOUSEKEEPING_SECONDS,
        "options": {"queue": HOUSEKEEPING_QUEUE, "expires": HOUSEKEEPING_SECONDS},
    },
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Models and generation -------------------------------------------------
# A registered model version's name, a local Hugging Face directory or a hub
# id. Empty: the registry's serving version.
CHAT_MODEL = env("CHAT_MODEL", default="")
MODELS_DIR = DATA_DIR / "models"
GENERATION_DEVICE = env("GENERATION_DEVICE", default="auto")
# Local models a worker process holds at once (the serving one, the versions
# conversations picked, the arena's): past it the least recently used is let
# go once its answers finish (registry/loaded_backends.py).
CHAT_MODELS_MAX_LOADED = env.int("CHAT_MODELS_MAX_LOADED", default=2)
# `dynamic`: concurrent conversations share each decoding step (our
# scheduler, engine/backends/dynamic.py); `generate`: one request at a time
# per thread; `continuous`: transformers' continuous batching. `auto`:
# dynamic on a CPU, continuous on a GPU (each measured fastest there).
GENERATION_ENGINE = env("GENERATION_ENGINE", default="auto")
# `auto`: bfloat16 on a GPU and for the dynamic engine on a CPU with AMX,
# float32 otherwise (engine.backends.resolve_dtype); `float32` or `bfloat16`.
GENERATION_DTYPE = env("GENERATION_DTYPE", default="auto")
# `local`: the model above, in the generation worker; `openai`: any
# OpenAI-compatible server (vLLM, TGI, llama.cpp, `transformers serve`).
GENERATION_BACKEND = env("GENERATION_BACKEND", default="local")
# One endpoint, or several replicas of one server, comma-separated: each
# answer goes to a healthy one (engine/backends/remote.py). Answers for a
# registered version (arena, trials, labeling candidates) ask the servers for
# the version's name as the model; the serving model is OPENAI_MODEL.
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_MODEL = env("OPENAI_MODEL", default="")
# The longest wait for a server's next bytes (connecting: at most 5 s).
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=60.0)
# An endpoint that failed takes no answers for this long, then is probed.
OPENAI_BACKOFF_SECONDS = env.float("OPENAI_BACKOFF_SECONDS", default=10.0)
GENERATION_DEFAULTS = {
    "temperature": env.float("GENERATION_TEMPERATURE", default=0.7),
    "top_p": env.float("GENERATION_TOP_P", default=0.9),
    "max_new_tokens": env.int("GENERATION_MAX_NEW_TOKENS", default=512),
}
GENERATION_MAX_NEW_TOKENS_LIMIT = env.int("GENERATION_MAX_NEW_TOKENS_LIMIT", default=4096)
# Deltas are gathered this long before one channel-layer message carries them
# (20 a second still reads as smooth; at 8 answers at once, 50 ms against
# 30 ms gave 7% more aggregate tokens/s on this 2-core machine).
GENERATION_COALESCE_SECONDS = env.float("GENERATION_COALESCE_SECONDS", default=0.05)
# A streaming answer whose worker has not beaten its heart for this long is
# marked interrupted, by one reaper in beat that runs this often
# (chatsite/tasks.py), and the sockets watching it hear so.
GENERATION_HEARTBEAT_TIMEOUT = env.float("GENERATION_HEARTBEAT_TIMEOUT", default=5.0)
GENERATION_REAP_SECONDS = env.float("GENERATION_REAP_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE["reap-interrupted-answers"] = {
    "task": "chatsite.tasks.reap_interrupted_answers_task",
    "schedule": GENERATION_REAP_SECONDS,
    "options": {"queue": HOUSEKEEPING_QUEUE, "expires": GENERATION_REAP_SECONDS},
}

# --- Chat limits -----------------------------------------------------------
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=16000)
CHAT_RATE_LIMIT_PER_MINUTE = env.int("CHAT_RATE_LIMIT_PER_MINUTE", default=20)
CHAT_MAX_CONCURRENT_GENERATIONS = env.int("CHAT_MAX_CONCURRENT_GENERATIONS", default=2)
# The most context one answer takes: turns (a /v1 request's messages; the
# newest turns of a chat branch the model reads) and their characters,
# system prompt included. Past them /v1 answers 400 and the chat reads less.
CHAT_MAX_TURNS = env.int("CHAT_MAX_TURNS", default=256)
CHAT_MAX_CONTEXT_CHARS = env.int("CHAT_MAX_CONTEXT_CHARS", default=4 * CHAT_MAX_MESSAGE_CHARS)
# A ChatGPT or Open WebUI export a user imports (chat.imports): its JSON (the
# upload, and conversations.json unpacked from a zip) at most this many MB,
# this many conversations, and this many messages in one conversation; each
# message at most CHAT_MAX_MESSAGE_CHARS, as in chat.
CHAT_IMPORT_MAX_MB = env.int("CHAT_IMPORT_MAX_MB", default=64)
CHAT_IMPORT_MAX_CONVERSATIONS = env.int("CHAT_IMPORT_MAX_CONVERSATIONS", default=5000)
CHAT_IMPORT_MAX_MESSAGES = env.int("CHAT_IMPORT_MAX_MESSAGES", default=2000)
# An import not finished this long after its upload lost its task or its
# worker: housekeeping gives it up, so the user can upload again.
CHAT_IMPORT_TIMEOUT_MINUTES = env.int("CHAT_IMPORT_TIMEOUT_MINUTES", default=60)
# Tokens (prompt + completion) a user may use per UTC day; 0: unlimited.
# An admin can set a user's own quota on the Users page. Admins have none.
USAGE_DAILY_TOKEN_QUOTA = env.int("USAGE_DAILY_TOKEN_QUOTA", default=0)
# A pending message or queued answer whose task is not in the broker this
# long after it was stored (Redis restarted, a worker died holding it) gets
# its task sent again by housekeeping (chat/dispatch.py).
CHAT_DISPATCH_GRACE_SECONDS = env.float("CHAT_DISPATCH_GRACE_SECONDS", default=30.0)
# A deleted conversation (and /v1's `store: false`) is hidden at once and
# purged this many days later by beat, hourly, unless an open or confirmed
# review item still needs it (chat.services.conversations_purge).
CONVERSATION_RETENTION_DAYS = env.float("CONVERSATION_RETENTION_DAYS", default=30.0)
CELERY_BEAT_SCHEDULE["purge-deleted-conversations"] = {
    "task": "chatsite.tasks.purge_deleted_conversations_task",
    "schedule": 3600.0,
    "options": {"queue": HOUSEKEEPING_QUEUE, "expires": 3600.0},
}

# --- Moderation ------------------------------------------------------------
MODERATION_LAYERS = env.list("MODERATION_LAYERS", default=["rules", "profanity", "classifier"])
MODERATION_THRESHOLD = env.float("MODERATION_THRESHOLD", default=0.5)
# Per-category overrides, e.g. MODERATION_THRESHOLDS="harassment=0.8,violence=0.6"
MODERATION_THRESHOLDS = {key: float(value) for key, value in env.dict("MODERATION_THRESHOLDS", default={}).items()}
# Answers (output moderation) pass their own layers, at their own thresholds:
# the classifier learnt from users' messages and misjudges a model's prose.
MODERATION_OUTPUT_LAYERS = env.list("MODERATION_OUTPUT_LAYERS", default=["rules", "profanity"])
MODERATION_OUTPUT_THRESHOLD = env.float("MODERATION_OUTPUT_THRESHOLD", default=0.8)
MODERATION_OUTPUT_THRESHOLDS = {
    key: float(value) for key, value in env.dict("MODERATION_OUTPUT_THRESHOLDS", default={}).items()
}
# Other processes see an admin's rule change within this many seconds.
MODERATION_RULES_REFRESH_SECONDS = env.float("MODERATION_RULES_REFRESH_SECONDS", default=5.0)
# Output is shown only after the chunk it belongs to has passed: a sentence,
# or this many characters when no sentence ends sooner (about ten tokens).
MODERATION_HOLDBACK_CHARS = env.int("MODERATION_HOLDBACK_CHARS", default=48)
# The classifier layer looks for a newly promoted head (a classifier model
# version with metadata "serving": true) at most this often.
MODERATION_CLASSIFIER_REFRESH_SECONDS = env.float("MODERATION_CLASSIFIER_REFRESH_SECONDS", default=5.0)
# MiniLM's weights: "auto" is bfloat16 where the CPU computes it natively
# (AMX or AVX512-BF16, about 1.7x faster), else float32.
MODERATION_CLASSIFIER_DTYPE = env("MODERATION_CLASSIFIER_DTYPE", default="auto")
# The guard layer (used when MODERATION_LAYERS names "guard"): a chat model's
# directory or hub id, asked Llama Guard-style; its P(unsafe) goes to
# MODERATION_GUARD_CATEGORY.
MODERATION_GUARD_MODEL = env("MODERATION_GUARD_MODEL", default="")
MODERATION_GUARD_CATEGORY = env("MODERATION_GUARD_CATEGORY", default="harassment")
MODERATION_GUARD_DEVICE = env("MODERATION_GUARD_DEVICE", default="cpu")
MODERATION_GUARD_BATCH_SIZE = env.int("MODERATION_GUARD_BATCH_SIZE", default=8)
# Labelled examples (JSONL: `prompt` and S/H/V/HR/SH/S3/H2/V2 labels) that
# retraining the classifier adds to the moderators' decisions, when present.
MODERATION_SEED_DATA = Path(
    env("MODERATION_SEED_DATA", default=str(BASE_DIR.parent / "shared" / "data" / "moderation_dev.jsonl"))
)

# Every line carries the request id of the HTTP request, WebSocket frame or
# task it belongs to (core/request_ids.py). LOG_FORMAT=json writes one
# JSON object per line instead.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.request_ids.RequestIdFilter"},
        "quiet_periodic_tasks": {"()": "core.logs.QuietPeriodicTasks"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "core.request_ids.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id", "quiet_periodic_tasks"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- Evaluation ------------------------------------------------------------
# The most prompts an evaluation set may hold (each is answered by two models
# and judged in every evaluation on it).
EVALUATION_SET_MAX_PROMPTS = env.int("EVALUATION_SET_MAX_PROMPTS", default=5000)

# --- Labeling --------------------------------------------------------------
# A task leased to an annotator returns to the pool when this runs out.
LABELING_LEASE_MINUTES = env.int("LABELING_LEASE_MINUTES", default=30)
# How many different annotators each item goes to (N).
LABELING_ANNOTATIONS_PER_ITEM = env.int("LABELING_ANNOTATIONS_PER_ITEM", default=3)
# The largest prompt file the admin upload page takes (after gunzip).
LABELING_IMPORT_MAX_MB = env.int("LABELING_IMPORT_MAX_MB", default=100)
# A candidate generation running longer than this lost its worker.
LABELING_GENERATION_TIMEOUT_MINUTES = env.int("LABELING_GENERATION_TIMEOUT_MINUTES", default=30)
# Annotators under this smoothed agreement with consensus (0..1, chance is
# 0.5) are listed for admins once this many of their rankings are compared.
LABELING_LOW_AGREEMENT = env.float("LABELING_LOW_AGREEMENT", default=0.6)
LABELING_LOW_AGREEMENT_MIN_RANKINGS = env.int("LABELING_LOW_AGREEMENT_MIN_RANKINGS", default=5)
# Gold items (labeling.gold): the share of an annotator's next tasks that is
# a gold item, when one is open to them; an annotator whose mean gold score
# (0..1, chance 0.5) is under LABELING_GOLD_HOLD_BELOW after
# LABELING_GOLD_MIN_ANSWERS gold answers gets gold tasks only until an admin
# clears the hold.
LABELING_GOLD_RATE = env.float("LABELING_GOLD_RATE", default=0.1)
LABELING_GOLD_HOLD_BELOW = env.float("LABELING_GOLD_HOLD_BELOW", default=0.6)
LABELING_GOLD_MIN_ANSWERS = env.int("LABELING_GOLD_MIN_ANSWERS", default=5)
# Active routing (labeling.routing): started tasks are finished first; of
# those with as many places taken, the next is the one the reward model is
# least sure of or its annotators disagree on most, except a
# LABELING_ROUTING_RANDOM_SHARE of picks that order them at random; off, the
# task closest to done, then the oldest. The reward model is the registered
# version named by LABELING_ROUTING_REWARD_MODEL, else the newest one.
LABELING_ROUTING = env.bool("LABELING_ROUTING", default=True)
LABELING_ROUTING_RANDOM_SHARE = env.float("LABELING_ROUTING_RANDOM_SHARE", default=0.2)
LABELING_ROUTING_REWARD_MODEL = env.str("LABELING_ROUTING_REWARD_MODEL", default="")
# Once a ranking's consensus is in, its best answers get this many label
# tasks (Likert scales) and user reply tasks (the conversation grows a turn)
# each (labeling.answer_tasks); 0 leaves it to the admins' page. A reply
# task is made only while the conversation has fewer user turns than
# LABELING_USER_REPLY_MAX_TURNS.
LABELING_LABEL_TASKS_PER_RANKING = env.int("LABELING_LABEL_TASKS_PER_RANKING", default=0)
LABELING_USER_REPLY_TASKS_PER_RANKING = env.int("LABELING_USER_REPLY_TASKS_PER_RANKING", default=0)
LABELING_USER_REPLY_MAX_TURNS = env.int("LABELING_USER_REPLY_MAX_TURNS", default=8)
# Snapshots as Hugging Face datasets (labeling.hub_export): the licence
# their cards declare (a Hub licence id; "other" says none was chosen), the
# token `export_snapshot_dataset --push` uses (its own name: HF_* variables
# reach training recipes), and the largest snapshot file the Datasets page
# zips in a request (larger: the management command).
DATASET_LICENSE = env("DATASET_LICENSE", default="other")
DATASET_HUB_TOKEN = env("DATASET_HUB_TOKEN", default="")
DATASET_DOWNLOAD_MAX_MB = env.int("DATASET_DOWNLOAD_MAX_MB", default=200)

# --- Training jobs ---------------------------------------------------------
# The package whose modules <package>.<kind> are the recipes a job runs
# (python -m <package>.<kind> --config FILE); fixed on each job when created.
TRAINING_RECIPE_PACKAGE = env("TRAINING_RECIPE_PACKAGE", default="training")
# A queued job whose message is not in the broker this long after it was sent
# (Redis was down or restarted, a worker died holding it) is sent again.
TRAINING_DISPATCH_GRACE_SECONDS = env.float("TRAINING_DISPATCH_GRACE_SECONDS", default=60.0)
# A running job whose worker has not beaten its heart for this long is failed.
TRAINING_HEARTBEAT_TIMEOUT = env.float("TRAINING_HEARTBEAT_TIMEOUT", default=60.0)
# After SIGTERM, a cancelled recipe gets this long to save before SIGKILL.
TRAINING_CANCEL_GRACE_SECONDS = env.float("TRAINING_CANCEL_GRACE_SECONDS", default=30.0)
# Processes per node for the multi-GPU preset (torchrun); 0: one per visible GPU.
TRAINING_NPROC_PER_NODE = env.int("TRAINING_NPROC_PER_NODE", default=0)
# Recipes see only an allow-listed environment (PATH, HOME, locale, CUDA_*,
# NCCL_*, TORCH*, HF_*, OMP_* and the like: jobs/runner.py), never the
# site's secrets; these names (comma-separated) are passed on as well.
TRAINING_ENV_PASSTHROUGH = env.list("TRAINING_ENV_PASSTHROUGH", default=[])
