"""Who is who: the user model (email login, timezone), teams and memberships, the roles
and their capabilities, and the one rule of who may see whom (``access_scope``,
``User.objects.visible_to``, ``OwnedQuerySet``). The bottom layer: it imports no other
app of ours."""
