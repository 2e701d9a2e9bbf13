"""The initializer of a translating process (``IMPORT_TRANSLATE_PROCESSES`` > 1): a spawned
process sets Django up before it unpickles its work, whose modules have models, so this
module imports none."""

from __future__ import annotations


def setup() -> None:
    import django

    django.setup()
