"""Admin endpoints under /api/v1/scheduler/: one ViewSet, each action calls one service."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
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

from scheduler.models import JobRun
from scheduler.registry import DAILY_VERSES_JOB_ID
from scheduler.selectors import health_check, job_run_data, scheduler_status
from scheduler.serializers import TriggerSerializer
from scheduler.services import job_run_enqueue, job_run_wait, scheduler_start, scheduler_stop
from users.selectors import users_count_summary


STATUS = OpenApiResponse(OpenApiTypes.OBJECT, description="The scheduler's status (see the README).")


class SchedulerViewSet(viewsets.ViewSet):
    """Staff only (token or session), except `health` which is public."""

    @extend_schema(responses={200: STATUS})
    @action(detail=False, methods=["get"])
    def status(self, request):
        return Response(scheduler_status())

    @extend_schema(request=None, responses={200: STATUS})
    @action(detail=False, methods=["post"])
    def start(self, request):
        scheduler_start()
        return Response({"success": True, "message": "Planificateur démarré", **scheduler_status()})

    @extend_schema(request=None, responses={200: STATUS})
    @action(detail=False, methods=["post"])
    def stop(self, request):
        scheduler_stop()
        return Response({"success": True, "message": "Planificateur arrêté", **scheduler_status()})

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], permission_classes=[AllowAny], authentication_classes=[])
    def health(self, request):
        healthy, report = health_check()
        return Response(report, status=http.HTTP_200_OK if healthy else http.HTTP_503_SERVICE_UNAVAILABLE)

    @extend_schema(request=TriggerSerializer, responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="The run finished within the wait."),
        202: OpenApiResponse(OpenApiTypes.OBJECT, description="Still running: poll `status_url`."),
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid `wait`."),
        500: OpenApiResponse(OpenApiTypes.OBJECT, description="The run failed."),
    })
    @action(detail=False, methods=["post"], url_path="trigger-daily-verses")
    def trigger_daily_verses(self, request):
        params = TriggerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        wait = params.validated_data.get("wait", settings.SCHEDULER_TRIGGER_WAIT_SECONDS)
        triggered_at = timezone.now()
        run, created = job_run_enqueue(job_id=DAILY_VERSES_JOB_ID, trigger=JobRun.Trigger.MANUAL)
        run = job_run_wait(run, timeout=wait)
        body = {"triggered_at": triggered_at.isoformat(), "already_running": not created,
                "run_id": str(run.pk), "run": job_run_data(run)}
        if run.status == JobRun.Status.SUCCEEDED:
            message = "Génération manuelle terminée avec succès"
            return Response({"success": True, "message": message, **body, **run.counts})
        if run.status == JobRun.Status.FAILED:
            message = "La génération manuelle a échoué"
            return Response({"success": False, "message": message, **body},
                            status=http.HTTP_500_INTERNAL_SERVER_ERROR)
        message = ("Une génération est déjà en cours" if not created
                   else "Génération lancée ; elle se poursuit en arrière-plan")
        return Response({"success": True, "message": message, **body,
                         "status_url": request.build_absolute_uri(
                             reverse("scheduler-run-detail", kwargs={"run_id": run.pk}))},
                        status=http.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("run_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"], url_path="runs/(?P<run_id>[^/]+)")
    def run_detail(self, request, run_id=None):
        try:
            run = JobRun.objects.filter(pk=run_id).first()
        except DjangoValidationError:
            run = None  # not a UUID
        if run is None:
            raise NotFound(f"run_id : aucune exécution avec l'identifiant « {run_id} »")
        return Response(job_run_data(run))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="users-count")
    def users_count(self, request):
        return Response({**users_count_summary(), "checked_at": timezone.now().isoformat()})
