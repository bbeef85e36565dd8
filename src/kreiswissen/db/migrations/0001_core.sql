-- Knowledge core: documents (versioned), chunks, lexical postings, embeddings, row-level security.
CREATE EXTENSION IF NOT EXISTS vector;

-- The principal of the current transaction, set with set_config(..., true) (SET LOCAL semantics).
-- Unset means: no groups, not operator -> nothing is visible (fail closed).
CREATE OR REPLACE FUNCTION kw_groups() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT COALESCE(NULLIF(current_setting('kreiswissen.groups', true), ''), '{}')::text[]
$$;

CREATE OR REPLACE FUNCTION kw_is_operator() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT COALESCE(current_setting('kreiswissen.operator', true), '') = 'on'
$$;

CREATE TABLE documents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source        text NOT NULL,               -- as given by the user (path or URI)
    source_key    text NOT NULL,               -- identity: absolute path or URI
    version       integer NOT NULL,
    is_current    boolean NOT NULL DEFAULT true,
    content_hash  text NOT NULL,
    title         text NOT NULL,
    doc_type      text NOT NULL,               -- kind of document: satzung, verordnung, ... or the format
    format        text NOT NULL,               -- pdf, docx, markdown, ...
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    department    text,
    municipality  text,
    doc_date      date,
    access_groups text[] NOT NULL,
    size_bytes    bigint,
    chunk_count   integer NOT NULL DEFAULT 0,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_key, version),
    CHECK (cardinality(access_groups) > 0)
);
CREATE UNIQUE INDEX documents_current_source ON documents (source_key) WHERE is_current;
CREATE INDEX documents_hash ON documents (content_hash) WHERE is_current;

CREATE TABLE chunks (
    id              bigserial PRIMARY KEY,
    document_id     uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ord             integer NOT NULL,
    text            text NOT NULL,
    section         text,
    page            integer,
    char_start      integer NOT NULL,
    char_end        integer NOT NULL,
    content_hash    text NOT NULL,
    lexemes         tsvector NOT NULL,
    term_count      integer NOT NULL,
    embedding       vector,
    embedding_model text,
    access_groups   text[] NOT NULL,
    UNIQUE (document_id, ord)
);
CREATE INDEX chunks_document ON chunks (document_id);
CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);
CREATE INDEX chunks_hash ON chunks (content_hash);

-- Impact-ordered postings: BM25's term-frequency part per (term, chunk), precomputed at ingest.
-- The query multiplies by idf and reads only the top postings per term (top-k aware, see docs/architecture.md).
CREATE TABLE postings (
    term          text NOT NULL,
    chunk_id      bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    impact        real NOT NULL,
    access_groups text[] NOT NULL,
    PRIMARY KEY (term, chunk_id)
);
CREATE INDEX postings_term_impact ON postings (term, impact DESC);
CREATE INDEX postings_chunk ON postings (chunk_id);

-- Document frequencies. Maintained in the ingest transaction; holds no text.
CREATE TABLE term_stats (
    term text PRIMARY KEY,
    df   integer NOT NULL CHECK (df >= 0)
);

CREATE TABLE corpus_stats (
    id          integer PRIMARY KEY CHECK (id = 1),
    n_chunks    bigint NOT NULL DEFAULT 0,
    total_terms bigint NOT NULL DEFAULT 0
);
INSERT INTO corpus_stats (id) VALUES (1);

-- Embedding cache keyed by model and text hash (vectors only, no text).
CREATE TABLE embedding_cache (
    model      text NOT NULL,
    text_hash  text NOT NULL,
    embedding  vector NOT NULL,
    PRIMARY KEY (model, text_hash)
);

-- Row-level security: FORCE so that even the table owner is filtered.
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunks FORCE ROW LEVEL SECURITY;
ALTER TABLE postings ENABLE ROW LEVEL SECURITY;
ALTER TABLE postings FORCE ROW LEVEL SECURITY;

CREATE POLICY documents_read ON documents
    USING (kw_is_operator() OR access_groups && kw_groups());
CREATE POLICY chunks_read ON chunks
    USING (kw_is_operator() OR access_groups && kw_groups());
CREATE POLICY postings_read ON postings
    USING (kw_is_operator() OR access_groups && kw_groups());
