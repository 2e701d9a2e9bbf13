# The production image: gunicorn for the web, the same image runs the worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=crm.settings.production

RUN groupadd --system crm && useradd --system --gid crm --home-dir /app crm
WORKDIR /app

COPY pyproject.toml README.md ./
COPY crm crm
COPY accounts accounts
COPY leads leads
COPY deals deals
RUN pip install .

COPY manage.py ./
COPY templates templates
COPY static static
# collectstatic needs a key to import the settings; this one is thrown away with the layer.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgresql://unused@localhost/unused \
    python manage.py collectstatic --noinput

USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
