# The (organization, date, id) index again, with the state: the "show paid" list's bounded count
# reads from the index alone. On PostgreSQL the migration is one transaction: building the new
# index blocks writes to billing_invoice until it commits (2.1 s for a million invoices on the
# bench's machine), and dropping the old one takes the table's exclusive lock, held to the
# commit right after, so reads wait that last moment too. Run it when payments are few
# (docs/deploy.md, on migrations and locks).

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
