"""The engine's endpoints under /api/v1/scheduler/jobs: one ViewSet whose actions parse their
input, call services and selectors (no ORM here), and render what they return with an output
serializer. The status, health, trigger, runs and stats endpoints are the console's
(console/apis.py)."""

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings

from scheduler.models import JobRun, ScheduleChange
from scheduler.permissions import SchedulerPermission
from scheduler.registry import JOBS, JOBS_BY_ID
from scheduler.selectors import (
    schedule_changes,
    scheduler_job,
    scheduler_jobs,
)
from scheduler.serializers import (
    JobRunStartedSerializer,
    JobSerializer,
    JobUpdateSerializer,
    ScheduleChangeSerializer,
)
from scheduler.services import (
    ScheduleMissing,
    job_run_enqueue,
    job_schedule_update,
)
from soulverse.api import DETAIL_SCHEMA, FORBIDDEN, INVALID, NOT_FOUND, NOT_JSON, StrictJSONParser

# 401 (no valid credentials) is documented for every such operation by soulverse.api.schema_authentication_errors.
STAFF_ONLY = {403: FORBIDDEN}


JOB_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, enum=[job.id for job in JOBS])


class JobViewSet(viewsets.ViewSet):
    """The registered jobs and their schedules: read, change (cron, enabled), run now; each change
    goes to the audit trail (`changes`) and out as a `schedule.updated` webhook."""

    permission_classes = [SchedulerPermission]  # GET: view the scheduler; PATCH, run: operate it
    parser_classes = [StrictJSONParser]
    pagination_class = None  # the jobs come whole; `changes` is paginated
    lookup_value_regex = "[^/]+"

    def _job_id(self, pk: str) -> str:
        if pk not in JOBS_BY_ID:
            raise NotFound(f"id : aucune tâche « {pk} »")
        return pk

    @extend_schema(responses={200: JobSerializer(many=True), **STAFF_ONLY})
    def list(self, request):
        return Response(JobSerializer(scheduler_jobs(), many=True).data)

    @extend_schema(parameters=[JOB_ID], responses={200: JobSerializer, 404: NOT_FOUND, **STAFF_ONLY})
    def retrieve(self, request, pk=None):
        return Response(JobSerializer(scheduler_job(job_id=self._job_id(pk))).data)

    @extend_schema(
        parameters=[JOB_ID],
        request=JobUpdateSerializer,
        responses={
            200: OpenApiResponse(JobSerializer, description="The job with its new schedule (`next_run` recomputed)."),
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(DETAIL_SCHEMA, description="No schedule yet."),
            415: NOT_JSON,
            **STAFF_ONLY,
        },
    )
    def partial_update(self, request, pk=None):
        job_id = self._job_id(pk)
        body = JobUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job_schedule_update(
                job_id=job_id, changed_by=request.user, source=ScheduleChange.Source.API, **body.validated_data
            )
        except ScheduleMissing:
            return Response(
                {"detail": "Planification absente : lancez « manage.py setup_schedules »."},
                status=http.HTTP_409_CONFLICT,
            )
        return Response(JobSerializer(scheduler_job(job_id=job_id)).data)

    @extend_schema(
        parameters=[JOB_ID],
        request=None,
        responses={
            202: OpenApiResponse(JobRunStartedSerializer, description="Handed to the cluster (or already running)."),
            404: NOT_FOUND,
            **STAFF_ONLY,
        },
    )
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        job_id = self._job_id(pk)
        triggered_at = timezone.now()
        run, created = job_run_enqueue(job_id=job_id, trigger=JobRun.Trigger.MANUAL)
        message = "Exécution lancée" if created else "Une exécution est déjà en cours"
        status_url = request.build_absolute_uri(reverse("scheduler-run-detail", kwargs={"run_id": run.pk}))
        return Response(
            JobRunStartedSerializer(
                {
                    "success": True,
                    "message": message,
                    "triggered_at": triggered_at,
                    "already_running": not created,
                    "run": run,
                    "status_url": status_url,
                }
            ).data,
            status=http.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        parameters=[JOB_ID], responses={200: ScheduleChangeSerializer(many=True), 404: NOT_FOUND, **STAFF_ONLY}
    )
    @action(detail=True, methods=["get"], pagination_class=api_settings.DEFAULT_PAGINATION_CLASS)
    def changes(self, request, pk=None):
        """The job's schedule changes, newest first (who, when, before, after), 20 per page."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(schedule_changes(job_id=self._job_id(pk)), request, view=self)
        return paginator.get_paginated_response(ScheduleChangeSerializer(page, many=True).data)
