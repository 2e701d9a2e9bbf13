"""Lead import from CSV and Excel files (``/leads/import/`` and ``manage.py import_leads``).

``parsing`` (a file, streamed, as numbered records: encoding, delimiter, XLSX), ``mapping``
(which column is which lead field: guesses for our own export and other CRMs' exports,
and each cell's value translated), ``services`` (the engine: a dry run, or COPY into a
staging table and set-based inserts with the duplicate check in SQL; cancel; undo),
``models`` (the batch, its stored file, saved mappings, what it did to each lead and the
rows it refused), ``selectors``, ``forms``, ``views``, ``urls``, ``tasks`` and ``admin``.
"""
