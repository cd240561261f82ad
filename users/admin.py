from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseUserCreationForm
from django.db.models import OuterRef, Subquery
from knox.models import AuthToken

from users.models import DailyStats, Device, User, UserActivity, identifier_short


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class DeviceInline(admin.TabularInline):
    """The user's devices, identifiers shortened (as in the logs); staff may remove one."""

    model = Device
    extra = 0
    fields = ("kind", "identifier_shown", "platform", "app_version", "created_at", "last_seen_at", "confirmed_at")
    readonly_fields = fields
    ordering = ("-last_seen_at",)
    verbose_name_plural = "appareils (push)"

    @admin.display(description="identifiant")
    def identifier_shown(self, device):
        return identifier_short(device.identifier)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    inlines = [DeviceInline]
    add_form = UserCreationForm
    ordering = ("-date_joined",)
    list_display = ("email", "is_active", "is_staff", "mood", "language", "timezone", "last_active_day")
    list_filter = ("is_active", "is_staff", "mood", "language")
    search_fields = ("email",)
    readonly_fields = ("id", "date_joined", "last_login", "last_active_day")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profil", {"fields": ("mood", "language", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login", "last_active_day")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # Keep the changelist fast on a million users: no COUNT(*) over the whole table.
    show_full_result_count = False

    def get_queryset(self, request):
        # One probe of the activity's primary key (user, day) per listed user.
        last_day = UserActivity.objects.filter(user=OuterRef("pk")).order_by("-day").values("day")[:1]
        return super().get_queryset(request).annotate(last_active_day=Subquery(last_day))

    @admin.display(description="dernier jour actif")
    def last_active_day(self, user):
        return user.last_active_day


@admin.register(DailyStats)
class DailyStatsAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "active_users",
        "daily_active_users",
        "weekly_active_users",
        "monthly_active_users",
        "new_users",
        "verses_generated",
        "fallbacks_used",
        "pushes_sent",
        "pushes_opened",
        "computed_at",
    )
    readonly_fields = list_display
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False


admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """API tokens, one per device: who, since when, until when. Only a digest of each key is
    stored; deleting a token revokes it at once. New tokens: `manage.py api_token create` or
    POST /api/v1/auth/login (the key is shown once, there)."""

    list_display = ("user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
