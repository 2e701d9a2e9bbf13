import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """The index of "similar name and company" (leads.merge), built without locking out
    writes: at 1M leads it takes a while, and web forms keep coming in."""

    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("leads", "0012_add_lead_merge")]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                models.Func(
                    django.db.models.functions.text.Lower("company"),
                    models.Value(
                        "\\m(inc|incorporated|ltd|limited|llc|gmbh|corp|corporation|co|plc)\\M"
                        "|[^[:alnum:]]+"
                    ),
                    models.Value(""),
                    models.Value("g"),
                    function="REGEXP_REPLACE",
                    output_field=models.TextField(),
                ),
                models.F("id"),
                condition=models.Q(
                    models.Q(("last_name", ""), _negated=True),
                    models.Q(("company", ""), _negated=True),
                ),
                name="lead_company_key_idx",
            ),
        ),
    ]
