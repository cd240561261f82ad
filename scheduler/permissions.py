"""Who may see and who may drive the scheduler: Django permissions, not `is_staff`.

`scheduler.view_scheduler` and `scheduler.operate_scheduler` are given by the groups "Scheduler
viewers" (view) and "Scheduler operators" (view + operate), created by a data migration;
superusers have every permission."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEW_PERMISSION = "scheduler.view_scheduler"
OPERATE_PERMISSION = "scheduler.operate_scheduler"
VIEWERS_GROUP = "Scheduler viewers"
OPERATORS_GROUP = "Scheduler operators"


def _allowed(request, permission: str) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(permission))


class CanViewScheduler(BasePermission):
    """Read the scheduler (status, runs, health details, the API schema)."""

    message = "Permission requise : « Peut consulter le planificateur »."

    def has_permission(self, request, view):
        return _allowed(request, VIEW_PERMISSION)


class CanOperateScheduler(BasePermission):
    """Change the scheduler (start, stop, trigger, edit schedules)."""

    message = "Permission requise : « Peut piloter le planificateur »."

    def has_permission(self, request, view):
        return _allowed(request, VIEW_PERMISSION) and _allowed(request, OPERATE_PERMISSION)


class SchedulerPermission(BasePermission):
    """The scheduler API's default: view for GET/HEAD/OPTIONS, operate for every other method, so
    that a new write endpoint needs the operate permission without saying so."""

    def has_permission(self, request, view):
        permission = CanViewScheduler() if request.method in SAFE_METHODS else CanOperateScheduler()
        self.message = permission.message
        return permission.has_permission(request, view)


def scheduler_groups_ensure() -> dict:
    """The two groups with their permissions, made if missing (the data migration makes them; a
    flushed test database or `setup_schedules` calls this). {name: Group}."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from scheduler.models import JobRun

    content_type = ContentType.objects.get_for_model(JobRun)
    permissions = {
        codename: Permission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": name}
        )[0]
        for codename, name in JobRun._meta.permissions
    }
    codenames = {VIEWERS_GROUP: ["view_scheduler"], OPERATORS_GROUP: ["view_scheduler", "operate_scheduler"]}
    groups = {}
    for name, wanted in codenames.items():
        groups[name], _ = Group.objects.get_or_create(name=name)
        groups[name].permissions.add(*(permissions[codename] for codename in wanted))
    return groups
