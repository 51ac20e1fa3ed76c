"""allauth's pages, mounted under /accounts/ after accounts/urls.py (whose
sign-in and sign-up views, at the same addresses, come first): allauth.urls
without its unnamed redirects from addresses this site never had."""

from allauth.urls import build_provider_urlpatterns
from django.urls import include, path

urlpatterns = [
    path("", include("allauth.account.urls")),
    path("3rdparty/", include("allauth.socialaccount.urls")),
    # /accounts/github/login/, /accounts/google/login/, /accounts/oidc/<provider_id>/login/ and their callbacks
    *build_provider_urlpatterns(),
]
