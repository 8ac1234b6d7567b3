"""Organizations, portal users (invite, deactivate), security levels and their permissions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from remit.accounts.models import Organization, SecurityLevel, User
from remit.accounts.services import end_user_sessions
from remit.audit.services import record_event
from remit.backoffice.admin.base import AuditedAdmin
from remit.backoffice.admin.mfa_actions import MfaActions, has_confirmed_device_q
from remit.backoffice.admin.user_forms import UserPageForm, clean_identity_email
from remit.outbox.models import EmailKind
from remit.outbox.services import email_queue

# --- Security levels -----------------------------------------------------------------------------


class PermissionChangesAudited:
    """Audits the permissions a level or group gained and lost when it is saved."""

    permissions_action: str  # the audit action
    permissions_code: str  # the permission field that names it in the audit entry
    permissions_holder: str  # "security level", "staff group"

    def save_related(self, request, form, formsets, change):
        holder = form.instance
        codes = holder.permissions.values_list(self.permissions_code, flat=True)
        before = set(codes) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(holder.permissions.values_list(self.permissions_code, flat=True))
        if before != after:
            record_event(
                self.permissions_action,
                request=request,
                obj=holder,
                summary=f"Permissions of {self.permissions_holder} {holder.name} changed",
                added=sorted(after - before),
                removed=sorted(before - after),
            )


@admin.register(SecurityLevel)
class SecurityLevelAdmin(PermissionChangesAudited, AuditedAdmin):
    permissions_action = "security_level.permissions_changed"
    permissions_code = "code"
    permissions_holder = "security level"

    list_display = ["name", "is_system", "permission_list", "user_count"]
    # A short list: plain checkboxes, each with its label (the admin's two-box filter widget has
    # unlabelled controls and ARIA on elements that may not carry it).
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    readonly_fields = ["is_system"]
    fields = ["name", "description", "permissions", "is_system"]

    @admin.display(description="Permissions")
    def permission_list(self, level: SecurityLevel) -> str:
        return ", ".join(p.name for p in level.permissions.all()) or "—"

    @admin.display(description="Users", ordering="user_count")
    def user_count(self, level: SecurityLevel) -> int:
        return level.user_count

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("permissions")
            .annotate(user_count=Count("users"))
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and (obj.is_system or obj.users.exists()):
            return False
        return super().has_delete_permission(request, obj)


class StaffGroupAdmin(PermissionChangesAudited, AuditedAdmin, DjangoGroupAdmin):
    """Django's groups of staff permissions, with every change audited (registered in apps.py, after
    django.contrib.auth registered its own)."""

    permissions_action = "group.permissions_changed"
    permissions_code = "codename"
    permissions_holder = "staff group"


# --- Organizations -------------------------------------------------------------------------------


class PortalUserInline(admin.TabularInline):
    """The organization's people, to open; invite and deactivate from the user's own page."""

    model = User
    fields = ["email", "full_name", "security_level", "is_active"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False
    verbose_name = "portal user"
    verbose_name_plural = "Portal users"

    @admin.display(description="Name")
    def full_name(self, user: User) -> str:
        return f"{user.first_name} {user.last_name}".strip()

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin):
    list_display = ["name", "external_id", "billing_email", "is_active", "user_count"]
    search_fields = ["name", "external_id", "billing_email"]
    list_filter = ["is_active"]
    fields = ["name", "external_id", "billing_email", "billing_state", "is_active", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [PortalUserInline]
    change_form_template = "backoffice/organization_change_form.html"

    @admin.display(description="Users", ordering="user_count")
    def user_count(self, organization: Organization) -> int:
        return organization.user_count

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_count=Count("users"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: invoices and payments keep pointing at it

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            if obj.is_active:
                record_event(
                    "organization.reactivated",
                    request=request,
                    obj=obj,
                    organization=obj,
                    summary=f"Reactivated {obj.name}",
                )
            else:
                ended = sum(end_user_sessions(user) for user in obj.users.all())
                record_event(
                    "organization.deactivated",
                    request=request,
                    obj=obj,
                    organization=obj,
                    summary=f"Deactivated {obj.name}; its users are signed out",
                    sessions_ended=ended,
                )


# --- Users ---------------------------------------------------------------------------------------


class InviteUserForm(forms.ModelForm):
    """A portal user, invited by email: no password is set here; the person chooses one."""

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "organization", "security_level"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].required = True
        self.fields["organization"].queryset = Organization.objects.filter(is_active=True)
        self.fields["security_level"].required = True
        if not self.initial.get("security_level"):
            default = SecurityLevel.objects.filter(name=SecurityLevel.USER).first()
            self.initial["security_level"] = default.pk if default else None

    def clean_email(self) -> str:
        return clean_identity_email(self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(MfaActions, DjangoUserAdmin, AuditedAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "get_full_name",
        "organization",
        "security_level",
        "is_staff",
        "is_active",
        "sign_in_status",
    ]
    list_filter = ["is_staff", "is_active", "security_level", "organization"]
    search_fields = ["email", "first_name", "last_name", "organization__name"]
    list_select_related = ["organization", "security_level"]
    add_form = InviteUserForm
    form = UserPageForm
    add_form_template = "backoffice/user_invite_form.html"
    change_form_template = "backoffice/user_change_form.html"
    change_list_template = "backoffice/user_change_list.html"
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Portal access", {"fields": ["organization", "security_level", "is_active"]}),
        (
            "Provider staff",
            {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"fields": ["email", "first_name", "last_name", "organization", "security_level"]},
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["deactivate_users", "resend_invitation", "invite_staff_mfa", "reset_mfa"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(has_mfa=has_confirmed_device_q())

    @admin.display(description="Sign-in")
    def sign_in_status(self, user: User) -> str:
        if not user.has_usable_password():
            return "Invited"
        if user.is_staff:
            return "MFA set up" if getattr(user, "has_mfa", False) else "MFA not set up"
        return "Password set, MFA on" if getattr(user, "has_mfa", False) else "Password set"

    # -- invite -----------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        extra = {"title": "Invite a portal user", **(extra_context or {})}
        return super().add_view(request, form_url, extra)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.set_unusable_password()
            super().save_model(request, obj, form, change)
            self._queue_invitation(request, obj)
            record_event(
                "user.invited",
                request=request,
                obj=obj,
                summary=f"Invited {obj.email} ({obj.security_level}) to {obj.organization}",
                security_level=str(obj.security_level),
            )
            return
        before = User.objects.select_related("security_level").get(pk=obj.pk)
        super().save_model(request, obj, form, change)
        self._audit_access_changes(request, before, obj, form)

    def _queue_invitation(self, request, user: User) -> None:
        # Queued in the same transaction as the user row: the worker finds both or neither.
        # The outbox retries it while the mail server is down (remit/outbox/).
        email_queue(EmailKind.INVITATION, user=user, base_url=request.build_absolute_uri("/"))

    def _audit_access_changes(self, request, before: User, after: User, form) -> None:
        if before.is_active and not after.is_active:
            self._deactivated(request, after)
        elif not before.is_active and after.is_active:
            record_event(
                "user.reactivated", request=request, obj=after, summary=f"Reactivated {after.email}"
            )
        changed = {
            name: [str(getattr(before, name) or ""), str(getattr(after, name) or "")]
            for name in ("security_level", "is_staff", "is_superuser")
            if getattr(before, name) != getattr(after, name)
        }
        if changed:
            record_event(
                "user.permissions_changed",
                request=request,
                obj=after,
                summary=f"Access of {after.email} changed: {', '.join(changed)}",
                changes=changed,
            )

    def save_related(self, request, form, formsets, change):
        user = form.instance
        before = (
            (
                set(user.groups.values_list("name", flat=True)),
                set(user.user_permissions.values_list("codename", flat=True)),
            )
            if change
            else (set(), set())
        )
        super().save_related(request, form, formsets, change)
        after = (
            set(user.groups.values_list("name", flat=True)),
            set(user.user_permissions.values_list("codename", flat=True)),
        )
        if change and before != after:
            record_event(
                "user.permissions_changed",
                request=request,
                obj=user,
                summary=f"Staff permissions of {user.email} changed",
                groups=sorted(after[0]),
                permissions=sorted(after[1]),
            )

    def _deactivated(self, request, user: User) -> None:
        ended = end_user_sessions(user)
        record_event(
            "user.deactivated",
            request=request,
            obj=user,
            summary=f"Deactivated {user.email}; signed out everywhere",
            sessions_ended=ended,
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and obj.pk == request.user.pk:
            # Nobody locks themselves out by accident.
            for name in ("is_active", "is_staff", "is_superuser"):
                if name in form.base_fields:
                    form.base_fields[name].disabled = True
        return form

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: payments and the audit log keep pointing at people

    # -- actions ----------------------------------------------------------------------------------

    @admin.action(description="Deactivate selected users (signs them out at once)")
    def deactivate_users(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = 0
        with transaction.atomic():
            chosen = User.objects.filter(pk__in=queryset.values("pk"), is_active=True)
            for user in chosen.select_for_update().order_by("pk"):
                if user.pk == request.user.pk:
                    self.message_user(request, "You cannot deactivate yourself.", messages.WARNING)
                    continue
                user.is_active = False
                user.save(update_fields=["is_active"])
                self._deactivated(request, user)
                count += 1
        self.message_user(request, f"Deactivated {count} user(s); they are signed out.")

    @admin.action(description="Send the invitation again")
    def resend_invitation(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        sent = 0
        for user in queryset.filter(is_active=True, is_staff=False):
            if user.has_usable_password():
                continue
            self._queue_invitation(request, user)
            record_event(
                "user.invited",
                request=request,
                obj=user,
                summary=f"Invitation sent again to {user.email}",
            )
            sent += 1
        self.message_user(
            request,
            f"Sent {sent} invitation(s)."
            if sent
            else "Nobody selected is waiting for an invitation (their password is set).",
            messages.SUCCESS if sent else messages.WARNING,
        )

    # -- the deactivate button on a user's page ---------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:user_id>/deactivate/",
                self.admin_site.admin_view(require_POST(self.deactivate_view)),
                name="accounts_user_deactivate",
            ),
            *super().get_urls(),
        ]

    def deactivate_view(self, request, user_id: int):
        user = self.get_object(request, str(user_id))
        if user is None:
            return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
        if not self.has_change_permission(request, user) or user.pk == request.user.pk:
            raise PermissionDenied
        if user.is_active:
            with transaction.atomic():
                user.is_active = False
                user.save(update_fields=["is_active"])
                self._deactivated(request, user)
            self.message_user(request, f"{user.email} is deactivated and signed out.")
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
