# The (organization, date, id) index again, with the state: the "show paid" list's bounded count
# reads from the index alone. The new index is built before the old one is dropped, so reads keep
# an index throughout (CREATE INDEX blocks writes to the table while it builds, not reads: a few
# seconds for a million invoices).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_invoice_org_open_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["organization", "-invoice_date", "-id", "state"],
                name="invoice_org_date_state",
            ),
        ),
        migrations.RemoveIndex(model_name="invoice", name="invoice_org_date"),
    ]
