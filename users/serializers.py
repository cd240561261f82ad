from rest_framework import serializers

from users.models import User


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "mood", "language", "timezone", "fcm_token", "date_joined"]
        read_only_fields = ["id", "email", "date_joined"]
        extra_kwargs = {"fcm_token": {"write_only": True}}

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "Champ inconnu." for name in unknown})
        read_only = sorted(name for name in self.initial_data if name in self.Meta.read_only_fields)
        if read_only:
            raise serializers.ValidationError({name: "Ce champ ne peut pas être modifié." for name in read_only})
        return attrs
