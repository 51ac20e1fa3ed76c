"""The origins single sign-on's forms lead to. A provider's button posts to
this site, which redirects the browser to the provider; browsers hold that
redirect to the page's CSP form-action (core/csp.py), so the account pages
name the configured providers' origins there."""

from urllib.parse import urlsplit

from django.conf import settings

# Where GitHub's and Google's sign-in pages are; a generic OpenID Connect
# provider's are at its server_url's origin (Keycloak's, Authentik's, ...).
_PROVIDER_ORIGINS = {"github": "https://github.com", "google": "https://accounts.google.com"}


def provider_origins() -> list[str]:
    origins = []
    for provider, config in settings.SOCIALACCOUNT_PROVIDERS.items():
        for app in config.get("APPS", []):
            if provider == "openid_connect":
                url = urlsplit(app["settings"]["server_url"])
                origins.append(f"{url.scheme}://{url.netloc}")
            else:
                origins.append(_PROVIDER_ORIGINS[provider])
    return sorted(set(origins))
