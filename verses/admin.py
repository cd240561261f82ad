import datetime
import uuid

from django import forms
from django.contrib import admin, messages

from users.models import Language, Mood
from verses.editorial.feasts import feasts
from verses.editorial.selectors import plan_received_count
from verses.editorial.services import (
    EditorialInvalid,
    feast_setting_update,
    reference_fields,
    reflection_clean,
    verse_plan_create,
    verse_plan_delete,
)
from verses.models import BibleVerse, DailyVerseRecord, Delivery, FeastSetting, VerseOfTheDay, VersePlan, VerseReview


@admin.register(VerseOfTheDay)
class VerseOfTheDayAdmin(admin.ModelAdmin):
    list_display = ("day", "mood", "language", "reference", "source", "ai_failure", "approved_at", "created_at")
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


# --- Editorial (verses/editorial): writes go through its services, as the API's and dashboard's ---

ALL_MOODS = "*"


class VersePlanForm(forms.ModelForm):
    language = forms.ChoiceField(label="langue", choices=Language.choices)
    mood = forms.ChoiceField(
        label="humeur", choices=[(ALL_MOODS, "Toutes les humeurs"), ("", "Sans humeur"), *Mood.choices], required=False
    )
    replace = forms.BooleanField(
        label="remplacer",
        required=False,
        help_text="Si certains utilisateurs ont déjà reçu le verset de ce jour : ils le gardent, les autres "
        "reçoivent le verset planifié.",
    )

    class Meta:
        model = VersePlan
        fields = ("day", "language", "mood", "reference", "reflection")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["reference"] = reference_fields(reference=data["reference"], language=data["language"])["reference"]
            if data.get("reflection"):
                data["reflection"] = reflection_clean(data["reflection"])
        except EditorialInvalid as exc:
            self.add_error(exc.field, exc.message)
            return data
        mood = None if data.get("mood") == ALL_MOODS else data.get("mood", "")
        received = plan_received_count(day=data["day"], language=data["language"], mood=mood)
        if received and not data.get("replace"):
            self.add_error(
                "replace", f"{received} utilisateur(s) ont déjà reçu le verset de ce jour : cochez « remplacer »."
            )
        return data


@admin.register(VersePlan)
class VersePlanAdmin(admin.ModelAdmin):
    """Add and delete only: a plan is changed by planning the same day, language and mood again."""

    form = VersePlanForm
    list_display = ("day", "language", "mood_label", "reference", "created_by", "created_at")
    list_filter = ("language", "day")
    date_hierarchy = "day"
    ordering = ("-day", "language", "mood")
    actions = None  # deleting goes through the service, one plan at a time

    @admin.display(description="humeur")
    def mood_label(self, plan):
        return "toutes" if plan.mood is None else plan.mood or "sans humeur"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        plan, outcome = verse_plan_create(
            day=data["day"],
            language=data["language"],
            mood=None if data.get("mood") == ALL_MOODS else data.get("mood", ""),
            reference=data["reference"],
            reflection=data.get("reflection", ""),
            replace=data.get("replace", False),
            created_by=request.user,
        )
        obj.pk = plan.pk
        if outcome["users_keeping_previous"] or outcome["pairs_changed"]:
            messages.info(request, plan_outcome_message(outcome))

    def delete_model(self, request, obj):
        verse_plan_delete(plan=obj)


def plan_outcome_message(outcome: dict) -> str:
    return (
        f"{outcome['pairs_changed']} verset(s) déjà préparé(s) portent désormais ce plan ; "
        f"{outcome['users_keeping_previous']} utilisateur(s) gardent le verset qu'ils avaient déjà reçu."
    )


class FeastSettingForm(forms.ModelForm):
    feast = forms.ChoiceField(label="fête", choices=[(f.key, f.names["fr"]) for f in feasts()])
    language = forms.ChoiceField(label="langue", choices=Language.choices)

    class Meta:
        model = FeastSetting
        fields = ("feast", "language", "enabled", "reference", "reflection")

    def clean(self):
        data = super().clean()
        try:
            if data.get("reference") and data.get("language"):
                data["reference"] = reference_fields(reference=data["reference"], language=data["language"])[
                    "reference"
                ]
            if data.get("reflection"):
                data["reflection"] = reflection_clean(data["reflection"])
        except EditorialInvalid as exc:
            self.add_error(exc.field, exc.message)
        return data


@admin.register(FeastSetting)
class FeastSettingAdmin(admin.ModelAdmin):
    """A feast's verse per language: its default (no reference), another reference, or off."""

    form = FeastSettingForm
    list_display = ("feast", "language", "enabled", "reference", "updated_by", "updated_at")
    list_filter = ("feast", "language", "enabled")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        setting = feast_setting_update(
            feast=data["feast"],
            language=data["language"],
            enabled=data["enabled"],
            reference=data.get("reference", ""),
            reflection=data.get("reflection", ""),
            updated_by=request.user,
        )
        obj.pk = setting.pk


@admin.register(VerseReview)
class VerseReviewAdmin(admin.ModelAdmin):
    """The editorial actions on the pairs' verses (who, when, before, after): read-only."""

    list_display = ("day", "mood", "language", "action", "reviewed_by", "reviewed_at")
    list_filter = ("action", "language", "day")
    date_hierarchy = "day"
    list_select_related = ("reviewed_by",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from verses.campaigns import admin as campaigns_admin  # noqa: E402, F401  (registers the campaigns' admin)
