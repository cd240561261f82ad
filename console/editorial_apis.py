"""The editorial endpoints under /api/v1/scheduler/: verse plans, the feast calendar and the review
of a day's verses (verses/editorial). Each action parses its input, calls one service or selector
and renders the result; GET needs scheduler.view_scheduler, any other method operate_scheduler."""

import datetime

from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from console.editorial_serializers import (
    FEAST_KEYS,
    FeastSerializer,
    FeastUpdateSerializer,
    ReviewActionSerializer,
    ReviewDaySerializer,
    ReviewDoneSerializer,
    ReviewQuerySerializer,
    VersePlanConflictSerializer,
    VersePlanCreateSerializer,
    VersePlanDeletedSerializer,
    VersePlanSavedSerializer,
    VersePlanSerializer,
    VersePlansQuerySerializer,
)
from scheduler.permissions import SchedulerPermission
from soulverse.api import FORBIDDEN, INVALID, NOT_FOUND, NOT_JSON, StrictJSONParser
from soulverse.db import BIGINT_MAX
from verses.editorial.selectors import (
    approval_required,
    feast_calendar,
    pair_verse_get,
    review_pairs,
    verse_plan_get,
    verse_plans,
    verse_reviews,
)
from verses.editorial.services import (
    AIAgainFailed,
    AlreadyReceived,
    EditorialInvalid,
    feast_setting_update,
    pair_verse_approve,
    pair_verse_reflection_edit,
    pair_verse_regenerate,
    pair_verse_replace,
    verse_plan_create,
    verse_plan_delete,
)

STAFF_ONLY = {403: FORBIDDEN}
CALENDAR_DAYS = 365
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _invalid(exc: EditorialInvalid) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


def _int_id(value, *, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number <= BIGINT_MAX:
        raise NotFound(f"id : aucun {what} avec l'identifiant « {value} »")
    return number


def plan_saved_message(outcome: dict) -> str:
    message = "Plan enregistré."
    if outcome["pairs_changed"]:
        message += f" {outcome['pairs_changed']} verset(s) déjà préparé(s) pour ce jour le portent désormais."
    if outcome["users_keeping_previous"]:
        message += (
            f" {outcome['users_keeping_previous']} utilisateur(s) avai(en)t déjà reçu le verset de ce jour et "
            "le gardent ; les autres recevront le verset planifié."
        )
    return message


class VersePlanViewSet(viewsets.ViewSet):
    """Planned verses: a day's verse chosen by an operator for one language and one mood (or all)."""

    parser_classes = [StrictJSONParser]
    permission_classes = [SchedulerPermission]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    lookup_value_regex = "[^/]+"  # any id gets the JSON 404

    @extend_schema(
        parameters=[VersePlansQuerySerializer],
        responses={200: VersePlanSerializer(many=True), 400: INVALID, 404: NOT_FOUND, **STAFF_ONLY},
    )
    def list(self, request):
        """The plans from `start` (default today) to `end`, by day, 20 per page."""
        query = VersePlansQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        start = query.validated_data.get("start") or timezone.localdate()
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            verse_plans(start=start, end=query.validated_data.get("end")), request, view=self
        )
        return paginator.get_paginated_response(VersePlanSerializer(page, many=True).data)

    @extend_schema(
        request=VersePlanCreateSerializer,
        responses={
            201: OpenApiResponse(VersePlanSavedSerializer, description="Saved (an earlier plan of that key replaced)."),
            400: INVALID,
            409: OpenApiResponse(
                VersePlanConflictSerializer,
                description="Some users have already received that day's verse: nothing changed (`replace`).",
            ),
            415: NOT_JSON,
            **STAFF_ONLY,
        },
    )
    def create(self, request):
        body = VersePlanCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            plan, outcome = verse_plan_create(
                day=data["day"],
                language=data["language"],
                mood=data.get("mood"),
                reference=data["reference"],
                reflection=data.get("reflection", ""),
                replace=data["replace"],
                created_by=request.user,
            )
        except EditorialInvalid as exc:
            raise _invalid(exc) from None
        except AlreadyReceived as exc:
            detail = (
                f"{exc.users} utilisateur(s) ont déjà reçu le verset de ce jour : rien n'a changé. Avec "
                "« replace »: true, ils le gardent et seuls les autres reçoivent le verset planifié."
            )
            return Response(
                VersePlanConflictSerializer({"detail": detail, "users_received": exc.users}).data,
                status=http.HTTP_409_CONFLICT,
            )
        saved = {"message": plan_saved_message(outcome), "plan": plan, **outcome}
        return Response(VersePlanSavedSerializer(saved).data, status=http.HTTP_201_CREATED)

    @extend_schema(parameters=[ID], responses={200: VersePlanDeletedSerializer, 404: NOT_FOUND, **STAFF_ONLY})
    def destroy(self, request, pk=None):
        plan = verse_plan_get(plan_id=_int_id(pk, what="plan"))
        if plan is None:
            raise NotFound(f"id : aucun plan avec l'identifiant « {pk} »")
        outcome = verse_plan_delete(plan=plan)
        message = "Plan supprimé."
        if outcome["pairs_kept"]:
            message += f" {outcome['pairs_kept']} verset(s) déjà reçu(s) restent le verset du jour de leur paire."
        return Response(VersePlanDeletedSerializer({"message": message, **outcome}).data)


class FeastViewSet(viewsets.ViewSet):
    """The feast calendar: each feast's date over the next 12 months and its verse per language."""

    parser_classes = [StrictJSONParser]
    permission_classes = [SchedulerPermission]
    lookup_value_regex = "[^/]+"

    @extend_schema(responses={200: FeastSerializer(many=True), **STAFF_ONLY})
    def list(self, request):
        return Response(FeastSerializer(feast_calendar(start=timezone.localdate(), days=CALENDAR_DAYS), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FEAST_KEYS)],
        request=FeastUpdateSerializer,
        responses={200: FeastSerializer, 400: INVALID, 404: NOT_FOUND, 415: NOT_JSON, **STAFF_ONLY},
    )
    def partial_update(self, request, pk=None):
        """Accept the default reference (`enabled` true, no `reference`), change it, or switch it off."""
        if pk not in FEAST_KEYS:
            raise NotFound(f"id : aucune fête « {pk} »")
        body = FeastUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            feast_setting_update(feast=pk, **body.validated_data, updated_by=request.user)
        except EditorialInvalid as exc:
            raise _invalid(exc) from None
        feast = next(f for f in feast_calendar(start=timezone.localdate(), days=CALENDAR_DAYS) if f["key"] == pk)
        return Response(FeastSerializer(feast).data)


class OneObjectSchema(AutoSchema):
    """`list` of VerseReviewViewSet answers one object (the day, its pairs, its reviews), not an array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class VerseReviewViewSet(viewsets.ViewSet):
    """A day's verses for review (default tomorrow: made the evening before) and the operators' actions."""

    schema = OneObjectSchema()
    parser_classes = [StrictJSONParser]
    permission_classes = [SchedulerPermission]
    lookup_value_regex = "[^/]+"

    @extend_schema(parameters=[ReviewQuerySerializer], responses={200: ReviewDaySerializer, 400: INVALID, **STAFF_ONLY})
    def list(self, request):
        query = ReviewQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("day") or timezone.localdate() + datetime.timedelta(days=1)
        return Response(
            ReviewDaySerializer(
                {
                    "day": day,
                    "approval_required": approval_required(),
                    "pairs": review_pairs(day=day),
                    "reviews": verse_reviews(day=day)[:100],
                }
            ).data
        )

    @extend_schema(
        parameters=[ID],
        request=ReviewActionSerializer,
        responses={
            200: ReviewDoneSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(
                {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
                description="`regenerate`: the AI is off or gave nothing usable; the verse is unchanged.",
            ),
            415: NOT_JSON,
            **STAFF_ONLY,
        },
    )
    @action(detail=True, methods=["post"], url_path="actions")
    def act(self, request, pk=None):
        """Approve the pair's verse, edit its reflection, replace its reference or ask the AI again;
        recorded (who, when, before, after) and sent as the webhook event `verse.reviewed`."""
        verse = pair_verse_get(verse_id=_int_id(pk, what="verset"))
        if verse is None:
            raise NotFound(f"id : aucun verset du jour avec l'identifiant « {pk} »")
        body = ReviewActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if data["action"] == "approve":
                review = pair_verse_approve(verse=verse, by=request.user)
            elif data["action"] == "edit":
                review = pair_verse_reflection_edit(verse=verse, reflection=data["reflection"], by=request.user)
            elif data["action"] == "replace":
                review = pair_verse_replace(
                    verse=verse, reference=data["reference"], reflection=data.get("reflection", ""), by=request.user
                )
            else:
                review = pair_verse_regenerate(verse=verse, by=request.user)
        except EditorialInvalid as exc:
            raise _invalid(exc) from None
        except AIAgainFailed as exc:
            return Response(
                {"detail": f"L'IA n'a pas donné de verset utilisable ({exc.kind}) : le verset est inchangé."},
                status=http.HTTP_409_CONFLICT,
            )
        done = {"message": REVIEW_MESSAGES[data["action"]], "review": review, "verse": review.verse}
        return Response(ReviewDoneSerializer(done).data)


REVIEW_MESSAGES = {
    "approve": "Verset approuvé.",
    "edit": "Réflexion modifiée (et approuvée).",
    "replace": "Référence remplacée (et approuvée).",
    "regenerate": "Nouveau verset de l'IA : à approuver.",
}
