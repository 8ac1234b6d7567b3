from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponseRedirect
from django.urls import reverse

from remit.accounts.models import Organization, SecurityLevel, User
from remit.core.models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """Provider settings: one row, edited in place."""

    fieldsets = [
        (None, {"fields": ["name", "country", "internal_currency", "time_zone"]}),
        ("Payments", {"fields": ["payment_options"]}),
        ("Contact shown to clients", {"fields": ["support_email", "support_phone"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        Provider.load()
        return HttpResponseRedirect(reverse("admin:core_provider_change", args=[1]))


@admin.register(SecurityLevel)
class SecurityLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "is_system", "permission_list"]
    filter_horizontal = ["permissions"]
    readonly_fields = ["is_system"]
    fields = ["name", "description", "permissions", "is_system"]

    @admin.display(description="Permissions")
    def permission_list(self, level: SecurityLevel) -> str:
        return ", ".join(p.name for p in level.permissions.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("permissions")

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_system


class PortalUserInline(admin.TabularInline):
    model = User
    fields = ["email", "first_name", "last_name", "security_level", "is_active"]
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "billing_email", "is_active"]
    search_fields = ["name", "external_id", "billing_email"]
    list_filter = ["is_active"]
    inlines = [PortalUserInline]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "get_full_name",
        "organization",
        "security_level",
        "is_staff",
        "is_active",
    ]
    list_filter = ["is_staff", "is_active", "security_level", "organization"]
    search_fields = ["email", "first_name", "last_name", "organization__name"]
    list_select_related = ["organization", "security_level"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Portal access", {"fields": ["organization", "security_level", "is_active"]}),
        ("Provider staff", {"fields": ["is_staff", "is_superuser"], "classes": ["collapse"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "first_name", "last_name", "organization", "security_level"],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
