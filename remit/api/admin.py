"""API keys in the back office: create (the key is shown once, on the page that follows), change
scopes, revoke. Keys are never deleted, so the audit log's names keep meaning something."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from remit.api.keys import (
    ApiKeyError,
    api_key_create,
    api_key_revoke,
    api_key_set_organizations,
    api_key_set_scopes,
)
from remit.api.models import ApiKey, Scope


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "organizations"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if (
            self.instance.pk is None
            and ApiKey.objects.filter(name=name, revoked_at__isnull=True).exists()
        ):
            raise forms.ValidationError("A live API key already has this name.")
        return name


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "created_by",
        "created_at",
        "last_used_at",
        "live",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    list_select_related = ["created_by"]
    actions = ["revoke"]
    # Organizations the key manages (docs/api.md): picked by search, as there may be thousands.
    autocomplete_fields = ["organizations"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "organizations"]
        return [
            "name",
            "prefix",
            "scopes",
            "organizations",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
        return [*readonly, "scopes", "organizations"] if obj.revoked_at else readonly

    @admin.display(description="Scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes) or "—"

    @admin.display(description="Live", boolean=True)
    def live(self, api_key: ApiKey) -> bool:
        return api_key.is_active

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            if "scopes" in form.cleaned_data:  # read-only once revoked
                api_key_set_scopes(obj, form.cleaned_data["scopes"], acting_user=request.user)
            return
        try:
            created, key = api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
            )
        except ApiKeyError as error:  # a race with another staff member: rare
            raise forms.ValidationError(str(error)) from error
        for field in ApiKey._meta.concrete_fields:  # the admin goes on with `obj`
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        request._remit_new_api_key = key

    def save_related(self, request, form, formsets, change):
        # Instead of the form's plain m2m save: grants are audited (api_key_set_organizations).
        if "organizations" in form.cleaned_data:  # read-only once revoked
            api_key_set_organizations(
                form.instance, form.cleaned_data["organizations"], acting_user=request.user
            )

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_remit_new_api_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "api_key": obj,
            "key": key,
            "title": f"API key {obj.name} created",
        }
        response = TemplateResponse(request, "api/apikey_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(api_key_revoke(key, acting_user=request.user) for key in queryset)
        self.message_user(request, f"{revoked} API key(s) revoked.", messages.SUCCESS)

    def get_changeform_initial_data(self, request):
        return {"scopes": []}
