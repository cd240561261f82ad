"""Campaigns in the Django admin (imported by verses.admin): read-only rows and a cancel action;
they are created through the API or the dashboard (/admin/dashboard/campaigns/), which check them."""

from django.contrib import admin, messages

from scheduler.permissions import OPERATE_PERMISSION
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.campaigns.selectors import campaign_figures, campaigns_with_figures
from verses.campaigns.services import CampaignNotCancellable, campaign_cancel


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "state", "send_at", "date", "local_time", "figures", "created_by", "created_at")
    list_filter = ("state",)
    search_fields = ("title", "body")
    actions = ["cancel"]

    def get_queryset(self, request):
        return campaigns_with_figures()

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Campaign._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="audience / envoyées / échecs / ouvertes")
    def figures(self, obj: Campaign) -> str:
        figures = campaign_figures(campaign=obj)
        return f"{figures['audience']} / {figures['sent']} / {figures['failed']} / {figures['opened']}"

    def has_operate_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(OPERATE_PERMISSION)

    @admin.action(description="Annuler les campagnes sélectionnées", permissions=["operate"])
    def cancel(self, request, queryset):
        cancelled = 0
        for campaign in queryset:
            try:
                campaign_cancel(campaign=campaign, by=request.user)
                cancelled += 1
            except CampaignNotCancellable:
                messages.warning(request, f"« {campaign.title} » est déjà envoyée ou annulée.")
        if cancelled:
            messages.success(request, f"{cancelled} campagne(s) annulée(s).")


@admin.register(CampaignDelivery)
class CampaignDeliveryAdmin(admin.ModelAdmin):
    """Read-only: the rows are written by the campaigns tick and the app's opens."""

    list_display = ("campaign", "user", "state", "attempts", "sent_at", "opened_at", "error")
    list_filter = ("state",)
    search_fields = ("user__email",)
    list_select_related = ("campaign", "user")
    raw_id_fields = ("campaign", "user")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
