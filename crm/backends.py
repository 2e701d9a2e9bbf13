"""The authentication backend: the signed-in user, their permissions and the bell's
unread count, in as few queries as every page can afford. It lives in ``crm`` because
it reads notifications, which sit above ``accounts``."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from crm.models import Notification


class PermissionBackend(ModelBackend):
    """Django's ModelBackend, loading a user's permissions in one query instead of two
    (user and group permissions together): every page checks them, so it counts."""

    def get_user(self, user_id: Any) -> Any:
        """The signed-in user, with the bell's unread count in the same query (every page
        shows the bell, so this saves a query per page)."""
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
