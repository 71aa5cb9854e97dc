import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0001_initial"),
        ("models", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="model",
            name="experiment",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="registered_model",
                to="experiments.experiment",
            ),
        ),
    ]
