"""The user's own verses: GET /api/v1/verses/today and /history, POST /{day}/opened."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from soulverse.api import INVALID, NOT_FOUND
from users.apis import ActivityRecordingMixin
from verses.generation.on_demand import daily_verse_for_user, user_local_date
from verses.models import DailyVerse
from verses.serializers import DailyVerseSerializer, VerseOpenedSerializer, VerseOpenSerializer
from verses.services import verse_open_record


class VerseViewSet(ActivityRecordingMixin, viewsets.GenericViewSet):
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

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "day",
                OpenApiTypes.DATE,
                OpenApiParameter.PATH,
                description="The day of the verse the push carried (`YYYY-MM-DD`).",
            )
        ],
        responses={
            200: VerseOpenedSerializer,
            400: INVALID,
            404: OpenApiResponse(NOT_FOUND.response, description="The user has no verse that day (yet)."),
        },
    )
    @action(detail=False, methods=["post"], url_path=r"(?P<day>[^/]+)/opened")
    def opened(self, request, day=None):
        """The user opened the push of their verse of `day`. Idempotent: the first open is kept."""
        query = VerseOpenSerializer(data={"day": day})
        query.is_valid(raise_exception=True)
        day = query.validated_data["day"]
        try:
            if day > user_local_date(request.user):  # no push of a day still to come
                raise DailyVerse.DoesNotExist
            opened = verse_open_record(user=request.user, day=day)
        except DailyVerse.DoesNotExist:
            raise NotFound(f"day : aucun verset le {day.isoformat()}.") from None
        return Response(VerseOpenedSerializer(opened).data)
