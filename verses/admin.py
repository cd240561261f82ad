import datetime
import uuid

from django.contrib import admin

from verses.models import BibleVerse, DailyVerseRecord, Delivery, VerseOfTheDay


@admin.register(VerseOfTheDay)
class VerseOfTheDayAdmin(admin.ModelAdmin):
    list_display = ("day", "mood", "language", "reference", "source", "ai_failure", "created_at")
    list_filter = ("day", "source", "language", "mood", "ai_failure")
    search_fields = ("reference", "text")
    date_hierarchy = "day"
    readonly_fields = ("created_at",)


@admin.register(DailyVerseRecord)
class DailyVerseAdmin(admin.ModelAdmin):
    """Read-only: the rows are written by the daily run and the user's own requests."""

    list_display = ("day", "user", "verse", "created_at")
    list_filter = ("day", "verse__source", "verse__language", "verse__mood")
    search_fields = ("user__email",)
    date_hierarchy = "day"
    list_select_related = ("user", "verse")
    ordering = ("-day", "user")
    show_full_result_count = False

    def get_object(self, request, object_id, from_field=None):
        # "<user id>/<day>": look the row up by its real key so PostgreSQL prunes partitions.
        user_id, _, day = object_id.rpartition("/")
        try:
            key = {"user_id": uuid.UUID(user_id), "day": datetime.date.fromisoformat(day)}
        except ValueError:
            return None
        return self.get_queryset(request).filter(**key).first()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BibleVerse)
class BibleVerseAdmin(admin.ModelAdmin):
    list_display = ("edition", "book", "chapter", "verse", "text")
    list_filter = ("edition", "book")
    search_fields = ("text",)
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The push record: read-only, since it is what keeps a user from being sent twice."""

    list_display = ("day", "user", "state", "attempts", "sent_at", "error", "message_id")
    list_filter = ("state", "day", "attempts", "user__timezone", "user__language", "verse__source")
    search_fields = ("user__email", "message_id")
    date_hierarchy = "day"
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "day",
        "verse",
        "state",
        "attempts",
        "message_id",
        "error",
        "claim",
        "claimed_until",
        "created_at",
        "updated_at",
        "sent_at",
    )
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
