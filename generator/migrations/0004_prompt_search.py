# Prompt search: full-text index per database vendor (filled in by the search work).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("generator", "0003_favourites"),
    ]

    operations = []
