from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("pyvision.ops.urls")),
    path("", include("pyvision.web.urls")),
]

handler500 = "pyvision.ops.views.server_error"
