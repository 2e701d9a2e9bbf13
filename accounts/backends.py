from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce


class PermissionBackend(ModelBackend):
    """Django's ModelBackend, loading a user's permissions in one query instead of two
    (user and group permissions together): every page checks them, so it counts."""

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user, with the bell's unread count in the same query (every page
        shows the bell, so this saves a query per page)."""
        from accounts.models import User
        from crm.models import Notification

        unread = (
            Notification.objects.filter(user_id=OuterRef("pk"), read_at__isnull=True)
            .order_by()
            .values("user_id")
            .annotate(count=Count("*"))
            .values("count")
        )
        user = (
            User._default_manager.annotate(
                unread_notifications=Coalesce(Subquery(unread, output_field=IntegerField()), 0)
            )
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                ).distinct()
            }
        return user_obj._perm_cache
