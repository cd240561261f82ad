from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("verses", "0007_delivery_claim"),
        ("users", "0006_devices"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="sent_devices",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
