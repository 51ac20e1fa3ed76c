"""A real OpenID Connect provider for the single sign-on tests: a small
Django project of its own (django-oauth-toolkit with OIDC on: discovery,
JWKS, RS256 ID tokens, userinfo), run as a separate process on loopback, as
Keycloak would be in production. Nothing of the app's is imported by it;
launch.py starts it, serve.py is its entry."""
