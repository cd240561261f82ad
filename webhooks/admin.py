from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.html import format_html

from scheduler.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from webhooks.events import EVENTS
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.serializers import WebhookUrlField
from webhooks.services import webhook_endpoint_create, webhook_endpoint_update


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "is_active")

    def clean_url(self):
        from rest_framework.exceptions import ValidationError as DRFValidationError

        try:
            return WebhookUrlField().run_validation(self.cleaned_data["url"])
        except DRFValidationError as exc:
            raise forms.ValidationError(exc.detail) from None


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ("number", "attempted_at", "status_code", "duration_ms", "succeeded", "error")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SchedulerPermissionsMixin:
    """Viewers of the scheduler see webhooks; its operators manage them (scheduler/permissions.py)."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(OPERATE_PERMISSION)

    def has_add_permission(self, request):
        return request.user.is_active and request.user.has_perm(OPERATE_PERMISSION)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(OPERATE_PERMISSION)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SchedulerPermissionsMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "events_list", "state", "failure_streak", "disabled_at", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("failure_streak", "disabled_at", "disabled_reason", "created_by", "created_at", "updated_at")

    class Media:
        css = {"all": ["webhooks/admin.css"]}  # no inline style: the admin's CSP allows none

    @admin.display(description="événements")
    def events_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description="état")
    def state(self, obj):
        if obj.is_active:
            return "actif"
        return format_html('<strong class="webhook-disabled">désactivé</strong> — {}', obj.disabled_reason or "")

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in ("url", "description", "events")}
        if change:
            current = WebhookEndpoint.objects.get(pk=obj.pk)  # `obj` has the form's values already
            saved = webhook_endpoint_update(endpoint=current, is_active=form.cleaned_data["is_active"], **data)
        else:
            saved = webhook_endpoint_create(created_by=request.user, **data)
            if not form.cleaned_data["is_active"]:
                webhook_endpoint_update(endpoint=saved, is_active=False)
            obj.secret = saved.secret  # shown once, by response_add
        obj.pk = saved.pk

    def response_add(self, request, obj, post_url_continue=None):
        """The secret is shown once, in this answer, as through the API: never in a message (the
        messages framework keeps them in a cookie, signed but readable, or in the session)."""
        response = TemplateResponse(
            request,
            "admin/webhooks/webhookendpoint/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "endpoint": obj,
                "secret": obj.secret,
            },
        )
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True)
        return response


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SchedulerPermissionsMixin, admin.ModelAdmin):
    list_display = ("message", "endpoint", "status", "attempts", "next_attempt_at", "created_at", "completed_at")
    list_filter = ("status", "message__event")
    readonly_fields = ("endpoint", "message", "status", "attempts", "next_attempt_at", "created_at", "completed_at")
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
