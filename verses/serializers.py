from rest_framework import serializers

from verses.models import DailyVerse


class DailyVerseSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="verse.reference")
    text = serializers.CharField(source="verse.text")
    reflection = serializers.CharField(source="verse.reflection")
    mood = serializers.CharField(source="verse.mood")
    language = serializers.CharField(source="verse.language")
    source = serializers.CharField(source="verse.source")

    class Meta:
        model = DailyVerse
        fields = ["day", "reference", "text", "reflection", "mood", "language", "source", "created_at"]


class VerseOpenSerializer(serializers.Serializer):
    """The day of POST /verses/{day}/opened."""

    day = serializers.DateField(input_formats=["iso-8601"])


class VerseOpenedSerializer(serializers.Serializer):
    day = serializers.DateField()
    opened_at = serializers.DateTimeField(help_text="The first open.")
