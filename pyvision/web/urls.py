from django.urls import path

from . import images, views

urlpatterns = [
    path("", views.home, name="home"),
    path("upload", views.upload, name="upload"),
    path("r/<uuid:pk>/", views.recognition, name="recognition"),
    path("r/<uuid:pk>/card", views.recognition_card, name="recognition-card"),
    path("images/", images.my_images, name="my-images"),
    path("images/<uuid:pk>/", images.image_page, name="image"),
    path("images/<uuid:pk>/file", images.image_file, name="image-file"),
    path("images/<uuid:pk>/thumbnail", images.image_thumbnail, name="image-thumbnail"),
    path("images/<uuid:pk>/note", images.image_note, name="image-note"),
    path("images/<uuid:pk>/delete", images.image_delete, name="image-delete"),
    path("images/<uuid:pk>/rerun", images.image_rerun, name="image-rerun"),
    path("demo/<uuid:pk>/thumbnail", images.demo_thumbnail, name="demo-thumbnail"),
    path("objects/", views.objects, name="objects"),
    path("instructions/", views.static_page("web/instructions.html"), name="instructions"),
    path("about/", views.static_page("web/about.html"), name="about"),
    path("terms/", views.static_page("web/terms.html"), name="terms"),
    path("privacy/", views.static_page("web/privacy.html"), name="privacy"),
]
