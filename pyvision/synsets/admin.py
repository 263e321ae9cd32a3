from django.contrib import admin

from .models import Synset


@admin.register(Synset)
class SynsetAdmin(admin.ModelAdmin):
    list_display = ("index", "wnid", "__str__")
    search_fields = ("wnid", "names")
    readonly_fields = ("index", "wnid", "hierarchy")
    fields = ("index", "wnid", "names", "hierarchy")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
