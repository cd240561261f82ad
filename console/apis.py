"""The console's endpoints under /api/v1/scheduler/ (status, start/stop, health, manual
trigger, runs, users-count, stats): one ViewSet whose actions parse their input, call services and
selectors (no ORM here), and render what they return with an output serializer. The jobs' own
endpoints are the engine's (scheduler/apis.py)."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from console.selectors import health_check, health_public, scheduler_status
from console.serializers import (
    HealthSerializer,
    RunSerializer,
    RunsQuerySerializer,
    SchedulerChangeSerializer,
    SchedulerStatusSerializer,
    StatsQuerySerializer,
    StatsSerializer,
    TriggerAcceptedSerializer,
    TriggerResultSerializer,
    TriggerSerializer,
    UsersCountSerializer,
)
from scheduler.apis import STAFF_ONLY
from scheduler.models import JobRun, ScheduleChange
from scheduler.permissions import CanViewScheduler, SchedulerPermission
from scheduler.registry import DAILY_VERSES_JOB_ID
from scheduler.selectors import job_run_get, job_runs
from scheduler.services import job_run_enqueue, job_run_wait, scheduler_start, scheduler_stop
from soulverse.api import INVALID, NOT_FOUND, NOT_JSON, StrictJSONParser
from soulverse.hotpath import answer_expected
from users.selectors import daily_stats_series, users_count_summary

STATUS = OpenApiResponse(SchedulerStatusSerializer, description="The scheduler's status (see the README).")
CHANGED = OpenApiResponse(SchedulerChangeSerializer, description="The scheduler's new status.")


class SchedulerViewSet(viewsets.ViewSet):
    """Permissions, not is_staff: GET needs scheduler.view_scheduler, any other method
    scheduler.operate_scheduler (scheduler/permissions.py); `health` is public (details with view)."""

    permission_classes = [SchedulerPermission]
    parser_classes = [StrictJSONParser]  # the one body (trigger's) is JSON
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS  # of `runs` (and so in its schema)

    @extend_schema(responses={200: STATUS, **STAFF_ONLY})
    @action(detail=False, methods=["get"])
    def status(self, request):
        return Response(SchedulerStatusSerializer(scheduler_status()).data)

    @extend_schema(request=None, responses={200: CHANGED, **STAFF_ONLY})
    @action(detail=False, methods=["post"])
    def start(self, request):
        scheduler_start(changed_by=request.user, source=ScheduleChange.Source.API)
        return Response(
            SchedulerChangeSerializer({"success": True, "message": "Planificateur démarré", **scheduler_status()}).data
        )

    @extend_schema(request=None, responses={200: CHANGED, **STAFF_ONLY})
    @action(detail=False, methods=["post"])
    def stop(self, request):
        scheduler_stop(changed_by=request.user, source=ScheduleChange.Source.API)
        return Response(
            SchedulerChangeSerializer({"success": True, "message": "Planificateur arrêté", **scheduler_status()}).data
        )

    @extend_schema(
        responses={
            200: OpenApiResponse(
                HealthSerializer,
                description="`ok`, or `degraded` without cache. Anonymous callers get "
                "`status` only; users with the view permission each check.",
            ),
            503: OpenApiResponse(
                HealthSerializer, description="`down`: each check says why (with the view permission)."
            ),
        }
    )
    @action(detail=False, methods=["get"], permission_classes=[AllowAny], throttle_classes=[])
    def health(self, request):
        # No throttle (a cache write per call); the public answer is memoised instead.
        if CanViewScheduler().has_permission(request, self):
            healthy, body = health_check()
        else:
            healthy, state = health_public()
            body = {"status": state}
        response = Response(
            HealthSerializer(body).data, status=http.HTTP_200_OK if healthy else http.HTTP_503_SERVICE_UNAVAILABLE
        )
        # A 503 here is an answer, not a server error: health logs state changes itself, so
        # keep django.request from logging an ERROR line per probe.
        return answer_expected(response)

    @extend_schema(
        request=TriggerSerializer,
        responses={
            200: OpenApiResponse(
                TriggerResultSerializer,
                description="The run finished within the wait; its counts are added at the top level.",
            ),
            202: OpenApiResponse(TriggerAcceptedSerializer, description="Still running: poll `status_url`."),
            400: INVALID,
            415: NOT_JSON,
            500: OpenApiResponse(TriggerResultSerializer, description="The run failed (`run.error` says why)."),
            **STAFF_ONLY,
        },
    )
    @action(detail=False, methods=["post"], url_path="trigger-daily-verses")
    def trigger_daily_verses(self, request):
        params = TriggerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        # Capped below the web server's timeout: a 202 rather than a killed worker.
        wait = min(
            params.validated_data.get("wait", settings.SCHEDULER_TRIGGER_WAIT_SECONDS),
            settings.SCHEDULER_TRIGGER_WAIT_MAX_SECONDS,
        )
        triggered_at = timezone.now()
        run, created = job_run_enqueue(job_id=DAILY_VERSES_JOB_ID, trigger=JobRun.Trigger.MANUAL)
        run = job_run_wait(run, timeout=wait)
        result = {"triggered_at": triggered_at, "already_running": not created, "run": run}
        if run.status == JobRun.Status.SUCCEEDED:
            message = "Génération manuelle terminée avec succès"
            return Response(TriggerResultSerializer({"success": True, "message": message, **result}).data)
        if run.status == JobRun.Status.FAILED:
            message = "La génération manuelle a échoué"
            return Response(
                TriggerResultSerializer({"success": False, "message": message, **result}).data,
                status=http.HTTP_500_INTERNAL_SERVER_ERROR,
            )
        message = (
            "Une génération est déjà en cours"
            if not created
            else "Génération lancée ; elle se poursuit en arrière-plan"
        )
        status_url = request.build_absolute_uri(reverse("scheduler-run-detail", kwargs={"run_id": run.pk}))
        return Response(
            TriggerAcceptedSerializer({"success": True, "message": message, **result, "status_url": status_url}).data,
            status=http.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        parameters=[RunsQuerySerializer],
        responses={200: RunSerializer(many=True), 400: INVALID, 404: NOT_FOUND, **STAFF_ONLY},
    )
    @action(detail=False, methods=["get"], url_path="runs")
    def runs(self, request):
        """Run history, newest first, 20 per page (`?page=N`), optionally of one job (`?job_id=`)."""
        # A plain dict: DRF reads an empty form value (`?job_id=`) as "absent"; here it is invalid.
        query = RunsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(job_runs(job_id=query.validated_data.get("job_id")), request, view=self)
        return paginator.get_paginated_response(RunSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("run_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: RunSerializer, 404: NOT_FOUND, **STAFF_ONLY},
    )
    @action(detail=False, methods=["get"], url_path="runs/(?P<run_id>[^/]+)")
    def run_detail(self, request, run_id=None):
        run = job_run_get(run_id=run_id)
        if run is None:
            raise NotFound(f"run_id : aucune exécution avec l'identifiant « {run_id} »")
        return Response(RunSerializer(run).data)

    @extend_schema(responses={200: UsersCountSerializer, **STAFF_ONLY})
    @action(detail=False, methods=["get"], url_path="users-count")
    def users_count(self, request):
        return Response(UsersCountSerializer({**users_count_summary(), "checked_at": timezone.now()}).data)

    @extend_schema(parameters=[StatsQuerySerializer], responses={200: StatsSerializer, 400: INVALID, **STAFF_ONLY})
    @action(detail=False, methods=["get"])
    def stats(self, request):
        """The daily figures of the last `days` days (default 30) that the dashboard draws."""
        query = StatsQuerySerializer(data=request.query_params.dict())  # `?days=` is invalid, not absent
        query.is_valid(raise_exception=True)
        return Response(StatsSerializer(daily_stats_series(days=query.validated_data["days"])).data)
