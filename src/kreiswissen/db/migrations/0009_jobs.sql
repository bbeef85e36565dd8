-- Upload jobs (0008): owner-only row-level security, and the columns the queue needs to be crash-safe.
--
-- A job holds the uploaded file until a worker has ingested it, before any access group applies to it, so
-- the database keeps it to its owner, as it keeps conversations (0007): a clerk sees only their own jobs.
-- Operators see every job: the workers that claim jobs of all users, the local administration, and the
-- application for administrators (roles are not signed into the principal, only the operator flag is).
ALTER TABLE ingest_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE ingest_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY ingest_jobs_owner ON ingest_jobs
    USING ((SELECT kw_is_operator()) OR owner = (SELECT kw_principal_name()));

-- worker:       who runs (or last ran) the job, for the administration.
-- heartbeat_at: a running job's worker renews it while it works; a job whose heartbeat is older than the
--               lease belongs to a worker (or database) that died, and is taken again by another worker.
-- available_at: a job put back after a passing failure (database restart) waits until then.
ALTER TABLE ingest_jobs
    ADD COLUMN worker text,
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN available_at timestamptz NOT NULL DEFAULT now();
