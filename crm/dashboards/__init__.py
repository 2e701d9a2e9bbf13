"""The manager dashboard (``/dashboard/``): lead figures read from a daily summary that
PostgreSQL triggers keep (models, services), the deal figures (deals), charts, tables with
their links and CSV, the page (forms, views), the rebuild task and the benchmark."""
