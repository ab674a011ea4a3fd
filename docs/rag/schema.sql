-- RAG-Schema der Plattform: Postgres mit der Extension pgvector.
--
-- Idempotent: lokal führt die automatische Migration diese Datei bei jedem
-- Start erneut aus; in Staging und Prod läuft sie im Migrations-Job.
-- Ausführen mit: psql --single-transaction -v ON_ERROR_STOP=1 -f schema.sql
--
-- Keine Datenanweisungen: der Datenbestand beginnt leer.
-- Mandantentrennung (Row Level Security) nur in den Tabellen, die der
-- Retriever liest; die Agenten-Tabellen sind plattformweit.
--
-- Dimension, Distanz, Tabellenrollen und Mandanten-Variable stehen in
-- matrix/umgebungen.yaml; `make check` hält diese Datei dagegen
-- (Regeln: docs/rag/schema.md).

CREATE EXTENSION IF NOT EXISTS vector;

CREATE SCHEMA IF NOT EXISTS rag;

-- Retriever -----------------------------------------------------------------

CREATE TABLE IF NOT EXISTS rag.documents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL,
    source_uri  text NOT NULL,
    title       text,
    sha256      text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, source_uri)
);

COMMENT ON TABLE rag.documents IS 'Eingelesene Dokumente je Mandant (Quelle, Prüfsumme, Metadaten).';

CREATE TABLE IF NOT EXISTS rag.chunks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    document_id  uuid NOT NULL,
    chunk_index  integer NOT NULL,
    content      text NOT NULL,
    token_count  integer,
    embedding    vector(1536) NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, chunk_index),
    FOREIGN KEY (tenant_id, document_id) REFERENCES rag.documents (tenant_id, id) ON DELETE CASCADE
);

COMMENT ON TABLE rag.chunks IS 'Textabschnitte mit Embedding; der Retriever sucht hier.';
COMMENT ON COLUMN rag.chunks.embedding IS 'Embedding des Abschnitts (Dimension laut Umgebungsmatrix).';

-- HNSW statt IVFFLAT: IVFFLAT bildet seine Listen beim Anlegen aus den
-- vorhandenen Zeilen, der Bestand beginnt aber leer.
CREATE INDEX IF NOT EXISTS chunks_embedding_hnsw_idx
    ON rag.chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX IF NOT EXISTS chunks_tenant_document_idx
    ON rag.chunks (tenant_id, document_id);

-- Mandantentrennung: die Anwendung setzt die Mandanten-Variable der Policy
-- je Transaktion mit set_config(..., true). Ohne gesetzte Variable sieht eine
-- Sitzung keine Zeile (Vergleich mit NULL).
-- FORCE gilt auch für den Eigentümer der Tabellen (gleicher Datenbanknutzer).
ALTER TABLE rag.documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE rag.documents FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS documents_tenant_isolation ON rag.documents;
CREATE POLICY documents_tenant_isolation ON rag.documents
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE rag.chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE rag.chunks FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS chunks_tenant_isolation ON rag.chunks;
CREATE POLICY chunks_tenant_isolation ON rag.chunks
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Agenten (plattformweit, ohne Mandanten-Policy) ------------------------------

CREATE TABLE IF NOT EXISTS rag.agent_runs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    graph              text NOT NULL,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    task_id            text,
    langfuse_trace_id  text,
    input              jsonb NOT NULL DEFAULT '{}'::jsonb,
    output             jsonb,
    error              text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz
);

COMMENT ON TABLE rag.agent_runs IS 'Agenten-Läufe (LangGraph): Status, Ein- und Ausgabe, Trace-Verweis.';

CREATE TABLE IF NOT EXISTS rag.agent_steps (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       uuid NOT NULL REFERENCES rag.agent_runs (id) ON DELETE CASCADE,
    step_index   integer NOT NULL,
    node         text NOT NULL,
    tool         text,
    input        jsonb,
    output       jsonb,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    UNIQUE (run_id, step_index)
);

COMMENT ON TABLE rag.agent_steps IS 'Einzelne Schritte eines Agenten-Laufs (Knoten, Werkzeug, Ein- und Ausgabe).';

CREATE INDEX IF NOT EXISTS agent_runs_status_idx
    ON rag.agent_runs (status, created_at);
