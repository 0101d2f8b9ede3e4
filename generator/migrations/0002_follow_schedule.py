from django.db import migrations


def create_schedule(apps, schema_editor):
    # Restarts following every minute, so a crashed worker never leaves jobs unwatched.
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="follow-jobs",
        defaults={"func": "generator.tasks.follow_jobs", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="follow-jobs").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generator", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
