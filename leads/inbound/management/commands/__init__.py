"""``ingest_email``: a message piped in from a mail server."""
