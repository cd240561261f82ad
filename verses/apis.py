"""The user's own verses: GET /api/v1/verses/today and /history."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from soulverse.api import NOT_FOUND
from verses.models import DailyVerse
from verses.serializers import DailyVerseSerializer
from verses.services import daily_verse_for_user


class VerseViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = DailyVerseSerializer

    def get_queryset(self):
        return DailyVerse.objects.filter(user=self.request.user).select_related("verse").order_by("-day")

    @action(detail=False, methods=["get"])
    def today(self, request):
        """The verse for the user's local date, made now if the morning run has not reached them."""
        return Response(self.get_serializer(daily_verse_for_user(user=request.user)).data)

    @extend_schema(responses={200: DailyVerseSerializer(many=True), 404: NOT_FOUND})
    @action(detail=False, methods=["get"])
    def history(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
