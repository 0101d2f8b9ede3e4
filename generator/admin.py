"""Site administration. Credentials are never shown: only `masked_key` is."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import Count
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse

from .account_forms import AdminLoginForm
from .erasure import erase_person, plan
from .models import Generation, Invitation, Job, Membership, Team, User
from .usage import annotate_month_usage, annotate_storage, month_totals

# The admin's sign-in checks the same passwords as the site's, so it is throttled the same way.
admin.site.login_form = AdminLoginForm


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
    actions = ("erase_data",)

    @admin.action(
        description="Erase the selected people's images and prompts (data-protection request)",
        permissions=("erase",),
    )
    def erase_data(self, request, queryset):
        """Asks first, on a page that lists what goes (erasure.plan); erases once confirmed."""
        people = list(queryset)
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase people's data",
                "rows": [(person, plan(person)) for person in people],
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/generator/erase_confirm.html", context)
        for person in people:
            done = erase_person(person, by=request.user)
            self.message_user(
                request,
                f"Erased {done.images} images and {done.prompts} prompts of {person.email}; "
                f"anonymised {done.audit_entries} audit entries.",
                messages.SUCCESS,
            )
        return None

    def has_erase_permission(self, request):
        return request.user.is_superuser


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "backend",
        "masked_key",
        "member_count",
        "month_credits",
        "month_images",
        "storage_images",
        "storage_bytes",
        "created_at",
    )
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
        "usage_summary",
        "storage_summary",
    )
    readonly_fields = ("code", "masked_key", "created_at", "usage_summary", "storage_summary")
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        teams = super().get_queryset(request).annotate(member_count=Count("memberships"))
        # This month's usage per team, in the list's one query (subqueries, no N+1).
        return annotate_storage(annotate_month_usage(teams))

    @admin.display(description="API key")
    def masked_key(self, obj):
        return obj.masked_key or "—"

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count

    @admin.display(description="Credits this month", ordering="month_credits")
    def month_credits(self, obj):
        return obj.month_credits

    @admin.display(description="Images this month", ordering="month_images")
    def month_images(self, obj):
        return obj.month_images

    @admin.display(description="Images stored", ordering="storage_images")
    def storage_images(self, obj):
        return obj.storage_images

    @admin.display(description="Storage", ordering="storage_bytes")
    def storage_bytes(self, obj):
        return filesizeformat(obj.storage_bytes)

    @admin.display(description="Storage used")
    def storage_summary(self, obj):
        if obj.pk is None:
            return "—"
        used = obj.storage_used()
        return (
            f"{used['images']} images, {filesizeformat(used['bytes'])} "
            f"(in the trash: {used['trash_images']} images, {filesizeformat(used['trash_bytes'])})"
        )

    @admin.display(description="Usage")
    def usage_summary(self, obj):
        if obj.pk is None:
            return "—"
        lines = []
        for months_back in (0, 1):
            row = month_totals(obj, months_back)
            lines.append(
                f"{row.label}: {row.credits} credits charged, {row.images} images delivered, "
                f"{row.reserved} credits reserved"
            )
        return "; ".join(lines)


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
        return {"used": "accepted", "usable": "pending"}.get(obj.state, obj.state)


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


# --- budgets and the audit log -----------------------------------------------------------------
# Kept together at the end of the file (imported here so the section stands on its own).
from .models import AuditEntry  # noqa: E402

TeamAdmin.fields = (
    *TeamAdmin.fields,
    "monthly_budget",
    "min_role_4k",
    "min_role_batch",
    "min_role_i2i",
)
# Budget and rules are changed on the team's settings page, where every change is written to the
# audit log; here they are shown read-only (an admin edit would leave no entry).
TeamAdmin.readonly_fields = (
    *TeamAdmin.readonly_fields,
    "monthly_budget",
    "min_role_4k",
    "min_role_batch",
    "min_role_i2i",
)
TeamAdmin.list_display = (*TeamAdmin.list_display, "monthly_budget")
MembershipAdmin.list_display = (*MembershipAdmin.list_display, "monthly_cap")
for _admin in (MembershipAdmin, MembershipInline, MembershipOfUserInline):
    _admin.readonly_fields = (*_admin.readonly_fields, "monthly_cap")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: readable here, never added, changed or deleted (not even by superusers)."""

    list_display = ("created_at", "team_name", "actor_email", "action", "target")
    list_filter = ("action",)
    search_fields = ("team_name", "actor_email", "target")
    list_select_related = ("team", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from .models import ShareLink  # noqa: E402


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "team",
        "kind",
        "board",
        "created_by",
        "created_at",
        "expires_at",
        "views",
    )
    list_select_related = ("team", "created_by", "board")
    list_filter = ("kind", "allow_download", "show_prompt")
    search_fields = ("code", "team__name", "created_by__email")
    raw_id_fields = ("team", "created_by", "jobs", "board")
    # The token's hash and the password's hash are secrets in their own right: never shown.
    exclude = ("token_hash", "password")
    readonly_fields = ("views", "last_viewed_at")


from .models import ApiToken  # noqa: E402


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made and revoked on the account and team pages (audited there)."""

    list_display = ("name", "hint", "team", "kind", "user", "scope", "role", "expires_at")
    list_select_related = ("team", "user")
    list_filter = ("kind", "scope")
    search_fields = ("name", "hint", "team__name", "user__email")
    # Its hash is as good as the secret for looking a token up: never shown.
    exclude = ("secret_hash",)


# --- prompt presets and moderation -------------------------------------------------------------
from .models import PromptPreset  # noqa: E402

# The team's blocked words are changed on its settings page, where each change is audited.
TeamAdmin.fields = (*TeamAdmin.fields, "blocked_phrases")
TeamAdmin.readonly_fields = (*TeamAdmin.readonly_fields, "blocked_phrases")


@admin.register(PromptPreset)
class PromptPresetAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "created_by", "mode", "resolution", "uses", "updated_at")
    list_select_related = ("team", "created_by")
    list_filter = ("mode", "resolution")
    search_fields = ("name", "prompt", "team__name", "created_by__email")
    raw_id_fields = ("team", "created_by")
    readonly_fields = ("code", "uses", "created_at", "updated_at")


from .models import Channel, Delivery  # noqa: E402

UserAdmin.fieldsets = (
    *UserAdmin.fieldsets,
    ("Notifications", {"fields": ("notify_browser", "notify_email")}),
)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ("created_at", "event", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "kind", "target_hint", "enabled", "created_at")
    list_select_related = ("team",)
    list_filter = ("kind", "enabled")
    search_fields = ("name", "team__name", "code")
    # The address and the signing secret are secrets: not in the form, not in the page.
    fields = ("name", "team", "code", "kind", "target_hint", "events", "enabled", "created_at")
    readonly_fields = ("team", "code", "kind", "target_hint", "created_at")
    inlines = (DeliveryInline,)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "team", "channel", "recipient", "event", "status", "attempts")
    list_select_related = ("team", "channel", "recipient")
    list_filter = ("status", "event")
    search_fields = ("team__name", "channel__name", "recipient__email", "key")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False
