from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("upload", views.upload, name="upload"),
    path("r/<uuid:pk>/", views.recognition, name="recognition"),
    path("r/<uuid:pk>/card", views.recognition_card, name="recognition-card"),
    path("images/<uuid:pk>/file", views.image_file, name="image-file"),
]
