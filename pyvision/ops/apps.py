from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "pyvision.ops"
    label = "ops"
    verbose_name = "Operations"
