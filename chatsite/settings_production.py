"""The production profile: DJANGO_SETTINGS_MODULE=chatsite.settings_production.

The same settings, read from the same environment, with HTTPS on (secure
cookies, redirect to HTTPS, HSTS) unless HTTPS=false says a proxy does it,
and no fallback secret: a deployment must set SECRET_KEY and ALLOWED_HOSTS.
`manage.py check --deploy` passes on it (tests/security/test_deploy.py).
"""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("HTTPS", "true")

from .settings import *  # noqa: E402,F403
from .settings import DEBUG, env  # noqa: E402

if not env("SECRET_KEY", default=""):
    raise ImproperlyConfigured("Set SECRET_KEY in the environment: the production profile keeps no key on disk.")
if not env("ALLOWED_HOSTS", default=""):
    raise ImproperlyConfigured("Set ALLOWED_HOSTS in the environment (the site's host names, comma-separated).")
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in the production profile.")
