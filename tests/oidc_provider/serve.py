"""Entry of the test provider (tests/oidc_provider/__init__.py starts it):
its database, its one user and its one client, from the environment, then
Django's threaded development server on 127.0.0.1."""

import os

import django
from django.core.management import call_command


def main() -> None:
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from django.contrib.auth import get_user_model
    from oauth2_provider.models import Application

    get_user_model().objects.create_user(
        username=os.environ["OIDC_PROVIDER_USERNAME"],
        password=os.environ["OIDC_PROVIDER_PASSWORD"],
        email=os.environ["OIDC_PROVIDER_EMAIL"],
    )
    Application.objects.create(
        name="Chatsite",
        client_id=os.environ["OIDC_PROVIDER_CLIENT_ID"],
        client_secret=os.environ["OIDC_PROVIDER_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OIDC_PROVIDER_REDIRECT_URIS"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,  # the consent page, as a provider shows it the first time
    )
    call_command("runserver", f"127.0.0.1:{os.environ['OIDC_PROVIDER_PORT']}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
