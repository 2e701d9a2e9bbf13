"""Merging duplicate leads into one, and undoing it: ``services`` (writes) and
``selectors`` (the duplicate groups, the preview of which value survives)."""
