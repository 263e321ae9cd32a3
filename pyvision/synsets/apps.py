from django.apps import AppConfig


class SynsetsConfig(AppConfig):
    name = "pyvision.synsets"
