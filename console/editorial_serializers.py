"""Bodies of the editorial endpoints (console/editorial_apis.py): verse plans, the feast calendar,
the review of a day's verses. Times are UTC with an offset."""

from rest_framework import serializers

from soulverse.api import StrictBooleanField, StrictCharField, StrictSerializer, UTCDateTimeField
from users.models import Language, Mood
from verses.editorial.feasts import feasts
from verses.models import VerseOfTheDay, VerseReview

LANGUAGE_ERRORS = {"invalid_choice": "Langue inconnue : « {input} » (fr ou en)."}
FEAST_STATES = ["default", "accepted", "changed", "off"]
DATE_ERRORS = {"invalid": "Date invalide : le format attendu est AAAA-MM-JJ."}


def _user_email(user) -> str | None:
    return user.email if user is not None else None


class VersePlanCreateSerializer(StrictSerializer):
    """Body of POST verse-plans."""

    day = serializers.DateField(error_messages=DATE_ERRORS, help_text="The users' local date it is planned for.")
    language = serializers.ChoiceField(choices=Language.choices, error_messages=LANGUAGE_ERRORS)
    mood = serializers.ChoiceField(
        choices=Mood.choices,
        required=False,
        allow_null=True,
        allow_blank=True,
        error_messages={"invalid_choice": "Humeur inconnue : « {input} »."},
        help_text='One mood, `""` for the users without a mood; absent or null: every mood.',
    )
    reference = StrictCharField(
        max_length=64,
        help_text="In the language's edition and numbering, e.g. `Jean 3:16`, `Psaume 23:1-4`, `John 3:16`; "
        "at most 4 verses.",
    )
    reflection = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=600,
        help_text="20 to 600 characters; absent: the mood's curated reflection.",
    )
    replace = StrictBooleanField(
        required=False,
        default=False,
        help_text="When some users have already received that day's verse: they keep it, and only the "
        "others get the planned one (without it: 409).",
    )


class VersePlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    language = serializers.CharField()
    mood = serializers.CharField(allow_null=True, help_text='null: every mood; `""`: the users without a mood.')
    reference = serializers.CharField(help_text="As the language's edition writes it.")
    reflection = serializers.CharField(help_text="Empty: the mood's curated reflection.")
    created_by = serializers.SerializerMethodField()
    created_at = UTCDateTimeField()

    def get_created_by(self, plan) -> str | None:
        return _user_email(plan.created_by)


class VersePlanSavedSerializer(serializers.Serializer):
    message = serializers.CharField()
    plan = VersePlanSerializer()
    pairs_changed = serializers.IntegerField(help_text="Verses already made for that day that now carry the plan.")
    users_keeping_previous = serializers.IntegerField(
        help_text="Users who had already received that day's verse: they keep it."
    )


class VersePlanDeletedSerializer(serializers.Serializer):
    message = serializers.CharField()
    pairs_removed = serializers.IntegerField(help_text="Planned verses nobody had received: made again when needed.")
    pairs_kept = serializers.IntegerField(help_text="Planned verses already received: they stay the day's verse.")


class VersePlanConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    users_received = serializers.IntegerField()


class VersePlansQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, error_messages=DATE_ERRORS, help_text="From this day (default today)."
    )
    end = serializers.DateField(
        required=False, error_messages=DATE_ERRORS, help_text="Up to this day included (before `start`: none)."
    )


class FeastLanguageSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=FEAST_STATES,
        help_text="`default`: nothing chosen yet (the default applies); `accepted`; `changed`; `off`.",
    )
    reference = serializers.CharField(help_text="The reference the feast day gets (unless `off`).")
    default_reference = serializers.CharField()


class FeastSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    date = serializers.DateField()
    languages = serializers.DictField(child=FeastLanguageSerializer())


class FeastUpdateSerializer(StrictSerializer):
    """Body of PATCH feasts/{key}."""

    language = serializers.ChoiceField(choices=Language.choices, error_messages=LANGUAGE_ERRORS)
    enabled = StrictBooleanField(help_text="false: the feast day goes as any other day in this language.")
    reference = StrictCharField(
        required=False, allow_blank=True, max_length=64, help_text="Empty or absent: the feast's default reference."
    )
    reflection = StrictCharField(
        required=False, allow_blank=True, max_length=600, help_text="Empty or absent: the feast's default reflection."
    )


FEAST_KEYS = [feast.key for feast in feasts()]


class PairVerseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    day = serializers.DateField()
    mood = serializers.CharField(help_text='`""`: the users without a mood.')
    language = serializers.CharField()
    reference = serializers.CharField()
    text = serializers.CharField(help_text="Always the edition's text.")
    reflection = serializers.CharField()
    source = serializers.ChoiceField(choices=VerseOfTheDay.Source.values)
    ai_failure = serializers.CharField(help_text="Why the AI's answer was not used (empty: it was, or not asked).")
    approved_at = UTCDateTimeField(allow_null=True)
    approved_by = serializers.SerializerMethodField()

    def get_approved_by(self, verse) -> str | None:
        return _user_email(verse.approved_by)


class VerseReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    verse_id = serializers.IntegerField(help_text="The pair's verse after the action.")
    day = serializers.DateField()
    mood = serializers.CharField()
    language = serializers.CharField()
    action = serializers.ChoiceField(choices=VerseReview.Action.values)
    reviewed_by = serializers.SerializerMethodField()
    reviewed_at = UTCDateTimeField()
    before = serializers.DictField()
    after = serializers.DictField()

    def get_reviewed_by(self, review) -> str | None:
        return _user_email(review.reviewed_by)


class ReviewDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    approval_required = serializers.BooleanField(help_text="VERSES_REQUIRE_APPROVAL: pushes wait for approval.")
    pairs = PairVerseSerializer(many=True, help_text="Each (mood, language) pair's verse made so far.")
    reviews = VerseReviewSerializer(many=True, help_text="The day's editorial actions, newest first.")


class ReviewQuerySerializer(serializers.Serializer):
    day = serializers.DateField(required=False, error_messages=DATE_ERRORS, help_text="Default: tomorrow.")


class ReviewActionSerializer(StrictSerializer):
    """Body of POST verse-review/{id}."""

    action = serializers.ChoiceField(
        choices=VerseReview.Action.values,
        error_messages={"invalid_choice": "Action inconnue : « {input} »."},
        help_text="`approve`; `edit` (with `reflection`); `replace` (with `reference`, optional `reflection`); "
        "`regenerate` (ask the AI again; the new verse awaits approval).",
    )
    reflection = StrictCharField(required=False, allow_blank=True, max_length=600)
    reference = StrictCharField(required=False, allow_blank=True, max_length=64)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["action"] == "edit" and not attrs.get("reflection"):
            raise serializers.ValidationError({"reflection": "Ce champ est obligatoire pour « edit »."})
        if attrs["action"] == "replace" and not attrs.get("reference"):
            raise serializers.ValidationError({"reference": "Ce champ est obligatoire pour « replace »."})
        return attrs


class ReviewDoneSerializer(serializers.Serializer):
    message = serializers.CharField()
    review = VerseReviewSerializer()
    verse = PairVerseSerializer()
