-- The web application: browser sessions, shared rate-limit counters, feedback on answers, upload jobs and
-- answer-quality evaluation runs. Everything lives in PostgreSQL so that any number of app and worker
-- processes (on one or many machines) share it; no process keeps state of its own.

-- Browser sessions. The cookie carries a random secret; only its SHA-256 is stored (a stolen database dump
-- opens no session). Each session has its own CSRF token, sent in every form.
CREATE TABLE web_sessions (
    id_hash      text PRIMARY KEY,
    user_name    text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_name);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- Fixed-window counters for rate limits (login attempts per client address, API calls per caller).
CREATE TABLE rate_limits (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Feedback on answers (thumbs up/down, optional comment). No user name: a keyed pseudonym, the user's
-- department at the time, the question with personal data replaced by placeholders (as in the audit log).
CREATE TABLE feedback (
    id             bigserial PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    user_pseudonym text NOT NULL,
    department     text,
    question       text NOT NULL,
    question_id    text NOT NULL,
    mode           text NOT NULL CHECK (mode IN ('generated', 'extractive', 'refused')),
    rating         smallint NOT NULL CHECK (rating IN (-1, 1)),
    comment        text NOT NULL DEFAULT '',
    documents      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX feedback_created ON feedback (created_at);

-- Uploaded files waiting for, or done with, ingestion. The content stays in the database until a worker has
-- ingested it (workers on other machines can take the job); afterwards only the outcome is kept.
CREATE TABLE ingest_jobs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner          text NOT NULL,
    file_name      text NOT NULL,
    size_bytes     bigint NOT NULL,
    sha256         text NOT NULL,
    content        bytea,
    access_groups  text[] NOT NULL DEFAULT '{}',
    department     text,
    classification text NOT NULL DEFAULT 'intern',
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    message        text NOT NULL DEFAULT '',
    document_id    text,
    attempts       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX ingest_jobs_queue ON ingest_jobs (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX ingest_jobs_owner ON ingest_jobs (owner, created_at DESC);

-- Answer-quality evaluation runs (kreiswissen eval answers --record), for the KI-Manager's trend chart.
CREATE TABLE eval_runs (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    mode       text NOT NULL,
    questions  integer NOT NULL,
    metrics    jsonb NOT NULL
);
