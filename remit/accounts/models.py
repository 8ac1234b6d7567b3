from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property
from localflavor.us.models import USStateField

from remit.accounts.emails import normalise_email


class PortalPermission(models.Model):
    """A permission a security level can hold. The rows are created by migrations."""

    VIEW_FINANCIALS = "view_invoices_and_financial_data"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SecurityLevel(models.Model):
    """A named set of permissions given to client users ("User", "Manager", or custom levels)."""

    USER = "User"
    MANAGER = "Manager"

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    is_system = models.BooleanField(default=False, help_text="Created by Remit; cannot be deleted.")
    permissions = models.ManyToManyField(
        PortalPermission, blank=True, related_name="security_levels"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A client of the provider."""

    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=100, unique=True, null=True, blank=True, help_text="The PSA's identifier."
    )
    billing_email = models.EmailField(
        blank=True, help_text="Receives a copy of every payment receipt."
    )
    billing_state = USStateField(
        "Billing state",
        blank=True,
        help_text="US state or territory of the billing address (two letters); decides whether "
        "a card surcharge may apply.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        """Provider staff with every back-office permission."""
        fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **fields)

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        return normalise_email(email or "")

    def get_by_natural_key(self, username: str) -> "User":
        # Stored emails are normalised (User.save, migration 0003): an exact match, on the index.
        return self.get(email=normalise_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """Signs in by email. A client user belongs to one organization and has a security level;
    provider staff have neither."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    security_level = models.ForeignKey(
        SecurityLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Provider staff (back office).")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                name="user_is_staff_or_client",
                condition=(
                    models.Q(is_staff=True, organization__isnull=True, security_level__isnull=True)
                    | models.Q(
                        is_staff=False, organization__isnull=False, security_level__isnull=False
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @classmethod
    def normalize_username(cls, username: str) -> str:
        return normalise_email(username)

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_client(self) -> bool:
        return not self.is_staff and self.organization_id is not None

    @cached_property
    def portal_permissions(self) -> frozenset[str]:
        if not self.is_active or not self.is_client or self.security_level_id is None:
            return frozenset()
        from remit.accounts.permission_cache import codes_of

        return codes_of(self.security_level_id)

    def has_portal_permission(self, code: str) -> bool:
        return code in self.portal_permissions

    @property
    def can_view_financials(self) -> bool:
        """Holds "View invoices and financial data": sees invoices, pays them."""
        return self.has_portal_permission(PortalPermission.VIEW_FINANCIALS)
