"""``manage.py benchmark_import`` runs the engine on a generated file and cleans up."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from leads.imports.models import ImportBatch, ImportedLead
from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_benchmark_import(admin):
    out = StringIO()
    call_command("benchmark_import", "--rows", "2000", stdout=out)
    text = out.getvalue()
    assert "2,000 rows in" in text
    assert "rows/s" in text
    assert "peak RSS" in text
    assert "created 1,990, duplicates 8, rejected 2" in text
    assert not Lead.objects.exists()
    assert not ImportedLead.objects.exists()
    assert not ImportBatch.objects.exists()
