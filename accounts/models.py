from __future__ import annotations

import hashlib
import zoneinfo
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from accounts.roles import Capability, Role

if TYPE_CHECKING:
    from django.db.models import QuerySet

TIMEZONE_CHOICES = [
    (name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())
]


def validate_timezone(value: str) -> None:
    # A validator rather than field choices: the tz database changes, migrations should not.
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a known timezone.", params={"value": value})


class Scope(models.TextChoices):
    """How far a user sees: their own records, their teams', or everything."""

    OWN = "own", "Own records"
    TEAM = "team", "Team records"
    ALL = "all", "All records"


def access_scope(user: User) -> Scope:
    """The one answer to "how much does this user see", from their permissions."""
    if not user.is_active:
        return Scope.OWN
    if user.has_perm(f"accounts.{Capability.VIEW_ALL}"):
        return Scope.ALL
    if user.has_perm(f"accounts.{Capability.VIEW_TEAM}"):
        return Scope.TEAM
    return Scope.OWN


class UserQuerySet(models.QuerySet["User"]):
    def active(self) -> UserQuerySet:
        return self.filter(is_active=True)

    def managed_by(self, user: User) -> UserQuerySet:
        """The members and managers of the teams ``user`` manages (and ``user``)."""
        teams = Membership.objects.filter(user=user, role=Membership.Role.MANAGER).values("team")
        return self.filter(
            models.Q(pk=user.pk)
            | models.Q(pk__in=Membership.objects.filter(team__in=teams).values("user"))
        )

    def visible_to(self, user: User) -> UserQuerySet:
        """Users whose records ``user`` may see: self, their teams' people, or everyone."""
        scope = access_scope(user)
        if scope == Scope.ALL:
            return self.all()
        if scope == Scope.TEAM:
            return self.managed_by(user)
        return self.filter(pk=user.pk)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lowercased; accept any case at login.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email is the login; the role comes from their group."""

    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    timezone = models.CharField(
        max_length=64,
        validators=[validate_timezone],
        default="UTC",
        help_text="Reminders, digests and dates on screen use this timezone.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Unticking this disables the login without deleting the user's history.",
    )
    is_staff = models.BooleanField(
        "admin site access", default=False, help_text="Set from the Admin role."
    )
    date_joined = models.DateTimeField(default=now)
    invitation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    digest_enabled = models.BooleanField(
        "daily digest",
        default=True,
        help_text="One email each morning: today's tasks, overdue ones, leads waiting on you.",
    )
    digest_hour = models.PositiveSmallIntegerField(
        "digest time",
        default=8,
        validators=[MaxValueValidator(23)],
        help_text="The hour, in your timezone, the digest is sent.",
    )
    lead_capacity = models.PositiveIntegerField(
        "open-lead capacity",
        null=True,
        blank=True,
        help_text="Assignment rules skip this person while they own this many open leads. "
        "Empty: no limit.",
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["first_name", "last_name", "email"]
        constraints = [
            # Stored lowercased, so the unique index is also case-insensitive.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="accounts_user_email_lowercase"
            ),
            models.CheckConstraint(condition=~models.Q(email=""), name="accounts_user_email_set"),
            models.CheckConstraint(
                condition=models.Q(digest_hour__lte=23), name="accounts_user_digest_hour_valid"
            ),
        ]
        permissions = [(capability.value, capability.label) for capability in Capability]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def role(self) -> Role | None:
        """The user's role, from their groups (superusers count as admins)."""
        if self.is_superuser:
            return Role.ADMIN
        names = {group.name for group in self.groups.all()}
        for role in (Role.ADMIN, Role.MANAGER, Role.REP):
            if role.value in names:
                return role
        return None

    @property
    def scope(self) -> Scope:
        return access_scope(self)

    def managed_teams(self) -> QuerySet[Team]:
        return Team.objects.filter(
            memberships__user=self, memberships__role=Membership.Role.MANAGER
        )


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    people: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        User, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a team: a manager of it or a member."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="accounts_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["manager", "member"]),
                name="accounts_membership_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.team}"


# --- Personal access tokens for the REST API (crm.api) ------------------------------------

TOKEN_PREFIX = "crm_"  # noqa: S105 - the visible start of every token, not a secret


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256. The secret carries 256 random bits, so a
    fast hash is enough (a slow password hash would only slow every API request)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal access token: ``crm_<prefix>_<secret>``, shown once when made. Only its
    hash and its prefix (to find it by, and to tell tokens apart on the profile page) are
    kept. It acts as its user, limited to reading unless its scope is write."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “Website sync”.")
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=8, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "write"]), name="accounts_apitoken_scope"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="accounts_apitoken_name_set"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        return f"{TOKEN_PREFIX}{self.prefix}_…"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    def is_expired(self, at: Any = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or now())

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired():
            return "expired"
        return "active"


# --- Row-level scoping of owned records (leads, deals, contacts, companies) ---------------


def team_ids_of(user: User) -> list[int]:
    """The teams a user belongs to, fetched once per request (cached on the user)."""
    cached: list[int] | None = getattr(user, "_crm_team_ids", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).values_list("team_id", flat=True))
        user._crm_team_ids = cached  # type: ignore[attr-defined]
    return cached


def managed_scope_of(user: User) -> tuple[list[int], list[int]]:
    """(teams the user manages, people in those teams), fetched once per request."""
    cached: tuple[list[int], list[int]] | None = getattr(user, "_crm_managed_scope", None)
    if cached is None:
        teams = list(
            Membership.objects.filter(user=user, role=Membership.Role.MANAGER).values_list(
                "team_id", flat=True
            )
        )
        people = list(
            Membership.objects.filter(team_id__in=teams)
            .values_list("user_id", flat=True)
            .distinct()
        )
        cached = (teams, sorted({*people, user.pk}))
        user._crm_managed_scope = cached  # type: ignore[attr-defined]
    return cached


class OwnedQuerySet(models.QuerySet[Any]):
    """The one row-level rule for every record with an ``owner`` and a ``team``.

    A rep sees their own records and the unassigned pool (of their teams, or of no team);
    a manager sees the records of the teams they manage, owned by their people, and that
    pool; an admin sees everything. Another rep's record is simply not in the queryset, so
    a typed-in id is a 404.
    """

    def visible_to(self, user: Any) -> Any:
        if not isinstance(user, User) or not user.is_active:
            return self.none()
        scope = access_scope(user)
        if scope == Scope.ALL:
            return self.all()
        if scope == Scope.TEAM:
            teams, people = managed_scope_of(user)
            return self.filter(
                models.Q(owner_id__in=people)
                | models.Q(team_id__in=teams)
                | models.Q(owner__isnull=True, team__isnull=True)
            )
        return self.filter(
            models.Q(owner_id=user.pk)
            | models.Q(owner__isnull=True, team__isnull=True)
            | models.Q(owner__isnull=True, team_id__in=team_ids_of(user))
        )
