"""Site administration. Credentials are never shown: only `masked_key` is."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import Count

from .models import Generation, Invitation, Job, Membership, Team, User


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipOfUserInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("team",)
    verbose_name = "team membership"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ("email",)
    list_display = ("email", "name", "current_team", "is_staff", "is_active", "date_joined")
    list_select_related = ("current_team",)
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    raw_id_fields = ("current_team",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipOfUserInline,)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "current_team")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "backend", "masked_key", "member_count", "created_at")
    list_filter = ("backend",)
    search_fields = ("name", "code")
    # api_key, client_id and webhook_token are secrets: not in the form, not in the page.
    fields = (
        "name",
        "code",
        "backend",
        "masked_key",
        "use_token_auth",
        "time_zone",
        "created_at",
    )
    readonly_fields = ("code", "masked_key", "created_at")
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="API key")
    def masked_key(self, obj):
        return obj.masked_key or "—"

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "joined_at")
    list_select_related = ("user", "team")
    list_filter = ("role",)
    search_fields = ("user__email", "user__name", "team__name")
    autocomplete_fields = ("user", "team")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "team", "role", "invited_by", "status", "created_at", "expires_at")
    list_select_related = ("team", "invited_by")
    list_filter = ("role",)
    search_fields = ("email", "team__name")
    autocomplete_fields = ("team",)
    readonly_fields = ("code", "invited_by", "created_at", "accepted_at", "accepted_by")

    @admin.display(description="Status")
    def status(self, obj):
        if obj.accepted_at:
            return "accepted"
        return "pending" if obj.is_usable else "expired"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pipeline rows are written by the app; the admin looks and may delete, never edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = ("short_prompt", "team", "author", "mode", "batch", "created_at")
    list_select_related = ("team", "author")
    list_filter = ("mode", "team")
    search_fields = ("prompt", "code")
    date_hierarchy = "created_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Prompt")
    def short_prompt(self, obj):
        return obj.prompt[:80]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("short_prompt", "state", "team", "author", "akool_id", "created_at")
    list_select_related = ("generation", "team", "author")
    list_filter = ("state", "team")
    search_fields = ("generation__prompt", "akool_id", "code")
    date_hierarchy = "created_at"

    @admin.display(description="Prompt")
    def short_prompt(self, obj):
        return f"{obj.generation.prompt[:60]} #{obj.index + 1}"
