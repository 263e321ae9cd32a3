from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "pyvision.web"
