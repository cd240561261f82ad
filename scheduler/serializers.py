from rest_framework import serializers


class TriggerSerializer(serializers.Serializer):
    """Body of POST trigger-daily-verses (optional)."""

    wait = serializers.FloatField(
        required=False, min_value=0, max_value=300,
        help_text="Seconds to wait for the run before answering 202 (default: server setting).",
    )
