from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "generator.sandbox"
    label = "sandbox"
    verbose_name = "Akool sandbox"
