from django.contrib import admin

from .models import SandboxAccount, SandboxJob, SandboxRequest


@admin.register(SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    list_display = ("client_id", "masked_key", "credit", "banned", "uid", "created_at")
    list_filter = ("banned",)
    search_fields = ("client_id", "uid", "team_id")
    # Keys stay out of lists and forms; only their tail identifies them.
    exclude = ("api_key", "token")
    readonly_fields = ("masked_key", "has_token", "uid", "team_id", "created_at")

    def has_add_permission(self, request):
        # Accounts come from provision_account() when a team picks the sandbox.
        return False

    @admin.display(description="API key")
    def masked_key(self, obj):
        return f"••••{obj.api_key[-4:]}" if obj.api_key else ""

    @admin.display(boolean=True, description="Token issued")
    def has_token(self, obj):
        return bool(obj.token)


@admin.register(SandboxJob)
class SandboxJobAdmin(admin.ModelAdmin):
    list_display = (
        "job_id",
        "account",
        "api",
        "op_button",
        "status_now",
        "resolution",
        "scale",
        "width",
        "height",
        "deduction_credit",
        "created_at",
    )
    list_filter = ("api", "resolution", "scale", "model_name", "will_fail")
    search_fields = ("job_id", "prompt", "account__client_id")
    list_select_related = ("account",)
    raw_id_fields = ("account", "parent")

    def has_add_permission(self, request):
        return False

    @admin.display(description="Status")
    def status_now(self, obj):
        return {1: "queued", 2: "processing", 3: "completed", 4: "failed"}[obj.status()]


@admin.register(SandboxRequest)
class SandboxRequestAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "method",
        "path",
        "job_id",
        "account",
        "http_status",
        "code",
        "outcome",
    )
    list_filter = ("kind", "outcome", "http_status", "code")
    search_fields = ("job_id", "path", "account__client_id")
    list_select_related = ("account",)
    raw_id_fields = ("account",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
