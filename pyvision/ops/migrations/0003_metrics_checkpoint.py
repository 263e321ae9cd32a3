from django.db import migrations, models
from django.utils import timezone


def start_counting(apps, schema_editor):
    apps.get_model("ops", "MetricsCheckpoint").objects.create(pk=1, counted_until=timezone.now(), totals={})


class Migration(migrations.Migration):

    dependencies = [
        ("ops", "0002_worker_model_check"),
    ]

    operations = [
        migrations.CreateModel(
            name="MetricsCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("counted_until", models.DateTimeField()),
                ("totals", models.JSONField(default=dict)),
            ],
        ),
        migrations.RunPython(start_counting, migrations.RunPython.noop),
    ]
