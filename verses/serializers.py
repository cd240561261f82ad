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
