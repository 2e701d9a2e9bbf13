"""The API's one ``NinjaAPI``, mounted at ``/api/v1/`` by ``crm.urls``."""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from crm.api import leads, lookups
from crm.api.auth import SessionAuth, TokenAuth
from crm.api.errors import register_handlers

api = NinjaAPI(
    title="CRM API",
    version="1",
    description=(
        "Leads and the lists they refer to. Authenticate with a personal access token "
        "(`Authorization: Bearer crm_…`, made on your profile page or with `manage.py "
        "api_token create`), or from the app's own pages with the session and its CSRF "
        "token. Errors are `{detail, code, field_errors}`; a change to a lead needs "
        "`If-Match` with its `ETag`."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    # The validator badge would load an image from swagger.io: our CSP allows only us.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
register_handlers(api)
api.add_router("", leads.router)
api.add_router("", lookups.router)

urlpatterns = [path("", api.urls)]
