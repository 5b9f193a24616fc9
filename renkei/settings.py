"""Django settings for Renkei. Everything is read from RENKEI_* variables (docs/configuration.md)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from renkei.env import ConfigError, envbool, envint, envlist, envstr, renkei_home, secret_key

BASE_DIR = Path(__file__).resolve().parent
RENKEI_HOME = renkei_home()

DEBUG = envbool("RENKEI_DEBUG", False)
SECRET_KEY = secret_key(RENKEI_HOME)
ALLOWED_HOSTS = envlist("RENKEI_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("RENKEI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "renkei.core",
    "renkei.accounts",
    "renkei.suppliers",
    "renkei.audit",
    "renkei.questionnaires",
    "renkei.campaigns",
    "renkei.risk",
    "renkei.remediation",
    "renkei.oversight",
    "renkei.monitoring",
    "renkei.graph",
    "renkei.pki",
    "renkei.incidents",
    "renkei.deliveries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "renkei.core.middleware.LanguageMiddleware",
    "renkei.core.middleware.PrivatePagesMiddleware",
    "renkei.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Mutual TLS (renkei.pki.mtls): after authentication and the language, so a refusal knows the
    # user and is translated; before axes, which asks to be last.
    "renkei.pki.mtls.ClientCertificateMiddleware",
    # Last, as django-axes asks; inside LanguageMiddleware so the lockout page is translated.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "renkei.urls"
WSGI_APPLICATION = "renkei.wsgi.application"

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
                "django.template.context_processors.i18n",
                "renkei.core.context_processors.renkei",
            ],
        },
    }
]

# SQLite under RENKEI_HOME is the embedded default; a postgres:// URL switches to PostgreSQL.
DATABASE_URL = envstr("RENKEI_DATABASE_URL") or f"sqlite:///{RENKEI_HOME / 'renkei.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=envint("RENKEI_DB_CONN_MAX_AGE", 60)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, like production: an in-memory shared-cache database locks whole tables
    # and fails concurrent access at once instead of waiting, which production never sees.
    DATABASES["default"]["TEST"] = {"NAME": str(RENKEI_HOME / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# AxesBackend must come first: it refuses a locked-out username+address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("RENKEI_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = RENKEI_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise scans it at start-up; collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = RENKEI_HOME / "files"
# Uploaded evidence is never served as public media: views check for_user before streaming it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Upload limits: a file over the limit is refused before it is parsed.
RENKEI_MAX_UPLOAD_MB = envint("RENKEI_MAX_UPLOAD_MB", 20)
# Delivered software (docs/deliveries.md): the largest delivered file and SBOM, and the most
# components one SBOM may list; refused before reading.
RENKEI_ARTIFACT_MAX_BYTES = envint("RENKEI_ARTIFACT_MAX_MB", 512) * 1024 * 1024
RENKEI_SBOM_MAX_BYTES = envint("RENKEI_SBOM_MAX_MB", 100) * 1024 * 1024
RENKEI_SBOM_MAX_COMPONENTS = envint("RENKEI_SBOM_MAX_COMPONENTS", 200_000)
# An .xlsx is a zip: a small file may unpack to gigabytes (a zip bomb). Checked before opening.
RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB = envint("RENKEI_SHEET_IMPORT_MAX_UNPACKED_MB", 50)
# Supplier portal: days an answer link (questionnaire without an account) stays valid.
RENKEI_ACCESS_LINK_DAYS = envint("RENKEI_ACCESS_LINK_DAYS", 14)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Production hardening. RENKEI_HTTPS=1 is the production setting (docs/configuration.md);
# the embedded demo serves plain HTTP on 127.0.0.1.
RENKEI_HTTPS = envbool("RENKEI_HTTPS", False)
SESSION_COOKIE_SECURE = RENKEI_HTTPS
CSRF_COOKIE_SECURE = RENKEI_HTTPS
SECURE_SSL_REDIRECT = RENKEI_HTTPS and envbool("RENKEI_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = envint("RENKEI_HSTS_SECONDS", 31536000) if RENKEI_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = RENKEI_HTTPS
SECURE_HSTS_PRELOAD = RENKEI_HTTPS
RENKEI_BEHIND_PROXY = envbool("RENKEI_BEHIND_PROXY", False)
if RENKEI_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("RENKEI_SESSION_SECONDS", 8 * 3600)
X_FRAME_OPTIONS = "DENY"

# Brute-force protection (django-axes, database-backed, so shared by every server process).
# Failed logins are counted per username and client address together: the address that failed
# RENKEI_LOGIN_FAILURE_LIMIT times within the cool-off is refused for that username (429, the
# lockout page) until RENKEI_LOGIN_COOLOFF_MINUTES pass without a new failure or an
# administrator runs `renkei users unlock`. A successful login clears the count.
RENKEI_LOGIN_FAILURE_LIMIT = envint("RENKEI_LOGIN_FAILURE_LIMIT", 10)
RENKEI_LOGIN_COOLOFF_MINUTES = envint("RENKEI_LOGIN_COOLOFF_MINUTES", 15)
if RENKEI_LOGIN_FAILURE_LIMIT < 1:
    raise ConfigError(f"RENKEI_LOGIN_FAILURE_LIMIT={RENKEI_LOGIN_FAILURE_LIMIT}: expected 1 or more")
if RENKEI_LOGIN_COOLOFF_MINUTES < 1:
    raise ConfigError(
        f"RENKEI_LOGIN_COOLOFF_MINUTES={RENKEI_LOGIN_COOLOFF_MINUTES}: expected 1 or more"
    )
AXES_FAILURE_LIMIT = RENKEI_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=RENKEI_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "renkei.accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "renkei.accounts.lockout.client_ip"
# Only failed attempts are stored (and deleted after the cool-off); no per-login history table.
AXES_DISABLE_ACCESS_LOG = True

EMAIL_HOST = envstr("RENKEI_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("RENKEI_EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("RENKEI_EMAIL_USER")
EMAIL_HOST_PASSWORD = envstr("RENKEI_EMAIL_PASSWORD")
EMAIL_USE_TLS = envbool("RENKEI_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = envbool("RENKEI_EMAIL_SSL", False)
EMAIL_TIMEOUT = envint("RENKEI_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = envstr("RENKEI_EMAIL_FROM", "renkei@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[Renkei] "
# Absolute links in e-mails (invitations, password reset) start with this address.
RENKEI_BASE_URL = envstr("RENKEI_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Client certificates (renkei.pki, docs/pki.md): CA keys live encrypted under RENKEI_PKI_DIR; the
# CRL and OCSP addresses written into every certificate start with RENKEI_PKI_BASE_URL.
RENKEI_PKI_DIR = Path(envstr("RENKEI_PKI_DIR") or RENKEI_HOME / "pki")
RENKEI_PKI_BASE_URL = envstr("RENKEI_PKI_BASE_URL", RENKEI_BASE_URL).rstrip("/")
# Mutual TLS (renkei.pki.mtls, docs/pki.md): only requests from these addresses or networks (the
# reverse proxy) may pass the client certificate in X-SSL-Client-Cert / X-SSL-Client-Verify and
# the client's address in X-Real-IP / X-Forwarded-For; from anywhere else those headers are ignored.
RENKEI_TRUSTED_PROXIES = envlist("RENKEI_TRUSTED_PROXIES", [])
for _proxy in RENKEI_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ConfigError(f"RENKEI_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from None
# The same certificate presented from two addresses within this many minutes is flagged.
RENKEI_MTLS_CONCURRENT_WINDOW = envint("RENKEI_MTLS_CONCURRENT_WINDOW", 10)
if RENKEI_MTLS_CONCURRENT_WINDOW < 1:
    raise ConfigError(
        f"RENKEI_MTLS_CONCURRENT_WINDOW={RENKEI_MTLS_CONCURRENT_WINDOW}: expected 1 or more (minutes)"
    )
# Invitation and password-reset links stay valid this many days (until used).
PASSWORD_RESET_TIMEOUT = envint("RENKEI_INVITATION_DAYS", 7) * 24 * 3600

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["renkei.core.api.permissions.RoleActionPermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "renkei.core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Renkei API",
    "DESCRIPTION": "Supply-chain cybersecurity risk management (連携). All data is restricted to what the "
    "authenticated user may see.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssessmentStatusEnum": "renkei.questionnaires.choices.AssessmentStatus",
        "ReviewStateEnum": "renkei.questionnaires.choices.ReviewState",
        "CampaignStatusEnum": "renkei.campaigns.models.CampaignStatus",
        "RiskLevelEnum": "renkei.risk.choices.Level",
        "RiskSourceEnum": "renkei.risk.choices.RiskSource",
        "RiskStatusEnum": "renkei.risk.choices.RiskStatus",
        "ActionSourceEnum": "renkei.remediation.models.ActionSource",
        "ActionStatusEnum": "renkei.remediation.models.ActionStatus",
        "PlanStatusEnum": "renkei.remediation.models.PlanStatus",
        "AuditKindEnum": "renkei.oversight.choices.AuditKind",
        "ContractClauseEnum": "renkei.risk.config.CONTRACT_CLAUSES",
        "MapNodeKindEnum": "renkei.graph.choices.NodeKind",
        "MapEdgeKindEnum": "renkei.graph.choices.EdgeKind",
        "MapOriginEnum": "renkei.graph.choices.Origin",
        "ImpactViaEnum": "renkei.graph.choices.Via",
    },
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

_LOG_LEVEL = envstr("RENKEI_LOG_LEVEL").strip().upper()
if _LOG_LEVEL not in ("", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ConfigError(
        f"RENKEI_LOG_LEVEL={_LOG_LEVEL!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _LOG_LEVEL or "WARNING"},
    "loggers": {"renkei": {"level": _LOG_LEVEL or "INFO"}},
}
