"""The REST API at ``/api/v1/``: personal access tokens, problem bodies, the lead resource
and the read-only admin lists. A wiring layer: it sits above leads and deals and calls
their services and selectors, exactly as the pages do, so every write keeps the same rules,
messages and history.

Why django-ninja rather than Django REST framework with drf-spectacular: the API is a thin
layer over services that already own every rule, so it needs typed request and response
shapes and a schema, not DRF's serializers, viewsets and permission classes, which would
be a second place for validation and scoping to live. Ninja's pydantic schemas are the
types the OpenAPI 3 document is generated from (one source, no annotations kept in step by
hand, as spectacular needs for function views), it is plain Django views underneath
(middleware, sessions, CSRF, the ORM, the test client as everywhere else), and it ships
Swagger UI's assets in the package, served as our own static files under our CSP.
"""
