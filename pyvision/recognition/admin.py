from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import pipeline
from .models import Image, Prediction, Recognition


class RecognitionInline(admin.TabularInline):
    model = Recognition
    fields = ("model", "status", "error_code", "created_at", "total_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    # An anonymous session's key would let whoever reads it take over that session:
    # shown as a yes/no, never in full.
    list_display = ("original_name", "owner", "anonymous", "size", "created_at", "is_demo")
    list_editable = ("is_demo",)
    list_filter = ("is_demo", "created_at")
    search_fields = ("original_name", "owner__username", "note")
    readonly_fields = ("id", "owner", "anonymous", "file", "thumbnail", "original_name", "size", "created_at")
    fields = ("id", "owner", "anonymous", "original_name", "size", "created_at", "note", "is_demo", "file", "thumbnail")
    inlines = [RecognitionInline]

    @admin.display(boolean=True, description=_("anonymous"))
    def anonymous(self, image):
        return bool(image.session_key)


class PredictionInline(admin.TabularInline):
    model = Prediction
    fields = ("rank", "synset", "label", "score")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Recognition)
class RecognitionAdmin(admin.ModelAdmin):
    list_display = ("id", "image", "model", "status", "error_code", "attempts", "created_at", "total_ms")
    list_filter = ("status", "model", "error_code")
    readonly_fields = [f.name for f in Recognition._meta.fields]
    inlines = [PredictionInline]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Retry the selected failed recognitions"), permissions=["change"])
    def retry(self, request, queryset):
        count = pipeline.retry_failed(queryset)
        self.message_user(request, ngettext("%d recognition sent again.", "%d recognitions sent again.", count) % count,
                          messages.SUCCESS)
