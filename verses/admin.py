from django.contrib import admin

from verses.models import BibleVerse, DailyVerse, VerseOfTheDay


@admin.register(VerseOfTheDay)
class VerseOfTheDayAdmin(admin.ModelAdmin):
    list_display = ("day", "mood", "language", "reference", "source", "ai_failure", "created_at")
    list_filter = ("day", "source", "language", "mood", "ai_failure")
    search_fields = ("reference", "text")
    date_hierarchy = "day"
    readonly_fields = ("created_at",)


@admin.register(DailyVerse)
class DailyVerseAdmin(admin.ModelAdmin):
    list_display = ("day", "user", "verse", "created_at")
    list_filter = ("day", "verse__source", "verse__language", "verse__mood")
    search_fields = ("user__email",)
    raw_id_fields = ("user", "verse")
    date_hierarchy = "day"
    list_select_related = ("user", "verse")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(BibleVerse)
class BibleVerseAdmin(admin.ModelAdmin):
    list_display = ("edition", "book", "chapter", "verse", "text")
    list_filter = ("edition", "book")
    search_fields = ("text",)
    show_full_result_count = False
