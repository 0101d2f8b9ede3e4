from django.db import migrations, models
from django.utils import timezone


def ask_again_for_missing_buttons(apps, schema_editor):
    """Images finished by webhook before buttons were fetched for them were stored with no
    buttons at all; mark them unknown so the follower asks Akool once. Upscales (U children)
    never offer buttons, so they stay as they are."""
    Job = apps.get_model("generator", "Job")
    (
        Job.objects.filter(state="done", buttons=[])
        .exclude(button__startswith="U")
        .exclude(akool_id=None)
        .update(buttons=None, next_poll_at=timezone.now())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("generator", "0005_budgets_audit"),
    ]

    operations = [
        # A U/V child now outlives its parent (it shows "made from a deleted image").
        migrations.RemoveConstraint(
            model_name="job",
            name="button_needs_parent",
        ),
        migrations.AlterField(
            model_name="job",
            name="buttons",
            field=models.JSONField(blank=True, default=list, null=True),
        ),
        migrations.RunPython(ask_again_for_missing_buttons, migrations.RunPython.noop),
    ]
