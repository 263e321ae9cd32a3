from django import forms
from django.contrib import admin

from .models import CustomModel, Label


class LabelForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        # A name a person changed is theirs: no longer marked, never translated over.
        before, after = self.instance.names or {}, data.get("names") or {}
        self.instance.machine_translated = [lang for lang in self.instance.machine_translated
                                            if after.get(lang) == before.get(lang)]
        return data


class LabelInline(admin.TabularInline):
    model = Label
    form = LabelForm
    fields = ("index", "key", "names", "machine_translated")
    readonly_fields = ("index", "key", "machine_translated")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CustomModel)
class CustomModelAdmin(admin.ModelAdmin):
    """Adding a model is `pyvision models add`: its file is checked there. Here: describe,
    disable or enable it, and edit its labels' names."""

    list_display = ("name", "description", "enabled", "input_size", "output", "created_at")
    list_filter = ("enabled", "output")
    fields = ("name", "description", "enabled", "file", "sha256", "size", "input_size", "crop_ratio", "mean", "std",
              "output")
    # What the file is, as `models add` checked it: another output kind needs the model added again.
    readonly_fields = ("name", "file", "sha256", "size", "input_size", "crop_ratio", "mean", "std", "output")
    inlines = [LabelInline]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        from .catalog import remove

        remove(obj)

    def delete_queryset(self, request, queryset):
        for model in queryset:
            self.delete_model(request, model)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    form = LabelForm
    list_display = ("__str__", "key", "machine_translated")
    list_filter = ("model_name",)
    search_fields = ("key", "names")
    fields = ("model_name", "index", "key", "names", "machine_translated")
    readonly_fields = ("model_name", "index", "key", "machine_translated")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
