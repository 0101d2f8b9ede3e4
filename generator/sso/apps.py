from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "generator.sso"
    label = "sso"
    verbose_name = "Single sign-on"

    def ready(self):
        from . import groups, signals  # noqa: F401  (connects the sign-in receiver)

        # A mistyped mapping fails at start, naming the variable, not at someone's sign-in.
        groups.group_roles()
