from django.contrib import admin

from verses.models import DailyVerse


@admin.register(DailyVerse)
class DailyVerseAdmin(admin.ModelAdmin):
    list_display = ("day", "user", "mood", "language", "reference", "source", "created_at")
    list_filter = ("day", "source", "language", "mood")
    search_fields = ("reference", "user__email")
    raw_id_fields = ("user",)
    date_hierarchy = "day"
    list_select_related = ("user",)
    readonly_fields = ("created_at",)
