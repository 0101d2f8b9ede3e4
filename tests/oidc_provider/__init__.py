"""A real OpenID Connect identity provider for the single sign-on tests: a tiny Django project
on django-oauth-toolkit, started by the tests in a subprocess on loopback (`serve.py`)."""
