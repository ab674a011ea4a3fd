"""Facts of the matrix for the reference app.

ERZEUGT aus matrix/umgebungen.yaml (make generate) – do not edit.
"""

WEB_PORT = 8000
HEALTH_PATH = '/healthz'
HEALTH_WRAPPER_PORT = 8080
HEALTH_WRAPPER_PATH = '/healthz'
DATABASE_URL_ENV = 'DATABASE_URL'
REDIS_URL_ENV = 'REDIS_URL'
DEFAULT_QUEUE = 'ingestion.v2'
AUTO_MIGRATE_ENV = 'AUTO_MIGRATE'
SCHEMA_FILE = 'docs/rag/schema.sql'
