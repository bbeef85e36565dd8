-- Minutes review in the web application (issue 6).
--
-- minutes.transcript: the transcript's segments (index, line, times, speaker, kind, text), so the review page
--   shows the draft beside the transcript and every item links to its place; owner-only like the draft (0011).
-- minutes_events.action: 'summarize' (a generated discussion summary) and 'delete' is audited only (the
--   events go with the row).
-- ingest_jobs.kind: 'minutes' jobs create a draft from an uploaded recording or transcript (speech-to-text
--   takes minutes, so it runs in the worker like an ingest); options holds the agenda and the groups entitled
--   to the non-public items; minutes_id the draft it created.
ALTER TABLE minutes ADD COLUMN transcript jsonb;

ALTER TABLE minutes_events DROP CONSTRAINT minutes_events_action_check;
ALTER TABLE minutes_events ADD CONSTRAINT minutes_events_action_check
    CHECK (action IN ('create', 'edit', 'approve', 'export', 'summarize'));

ALTER TABLE ingest_jobs
    ADD COLUMN kind text NOT NULL DEFAULT 'ingest' CHECK (kind IN ('ingest', 'minutes')),
    ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN minutes_id uuid;
