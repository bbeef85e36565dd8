-- Standard cases (issue 7): incoming requests (Vorgänge) in a work queue per unit, their reply drafts, the
-- history of every step, the import's record of unreadable mails, and the library of approved text blocks.
--
-- A request holds a citizen's personal data, so a row is readable only by the groups in its
-- ``access_groups``: the responsible unit's group (the unit id, e.g. 'strassenverkehrsamt-zulassung') and the
-- intake group (setting ``cases_intake_group``, default 'poststelle'), plus operators. Re-routing a request to
-- another unit changes ``access_groups`` in the same statement, so the queue follows the responsibility.

CREATE TABLE cases (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_kind   text NOT NULL CHECK (source_kind IN ('eml', 'maildir', 'text', 'pdf', 'web')),
    source_name   text NOT NULL,
    source_sha256 text NOT NULL,
    message_id    text,
    sender        text NOT NULL DEFAULT '',
    subject       text NOT NULL DEFAULT '',
    received_at   timestamptz,
    body          text NOT NULL,                    -- the request as read (quoted history included)
    request_text  text NOT NULL,                    -- what routing and drafting read (quotes removed)
    attachments   text[] NOT NULL DEFAULT '{}',
    problems      text[] NOT NULL DEFAULT '{}',     -- what was repaired or skipped while reading
    service_id    text,
    unit_id       text,
    confidence    real,
    out_of_scope  boolean NOT NULL DEFAULT false,
    routing       jsonb NOT NULL DEFAULT '{}'::jsonb,
    access_groups text[] NOT NULL,
    status        text NOT NULL DEFAULT 'neu'
                  CHECK (status IN ('neu', 'entwurf', 'bearbeitet', 'angenommen', 'verworfen')),
    draft         text,
    draft_meta    jsonb NOT NULL DEFAULT '{}'::jsonb, -- sources, blocks, generated, model, notices
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    decided_by    text,
    decided_at    timestamptz
);
-- Resume and duplicates: the same mail file is one case, however often the folder is imported.
CREATE UNIQUE INDEX cases_source ON cases (source_sha256);
CREATE INDEX cases_queue ON cases (unit_id, status, created_at DESC);

CREATE TABLE case_events (
    id      bigserial PRIMARY KEY,
    case_id uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    actor   text NOT NULL,
    action  text NOT NULL CHECK (action IN ('import', 'route', 'draft', 'edit', 'accept', 'discard', 'copy',
                                            'export', 'reopen')),
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Mails the import could not read at all. The file itself stays where it was; this row says which one and why.
CREATE TABLE case_import_failures (
    id            bigserial PRIMARY KEY,
    source_name   text NOT NULL,
    source_sha256 text NOT NULL UNIQUE,
    reason        text NOT NULL,
    actor         text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
ALTER TABLE case_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_events FORCE ROW LEVEL SECURITY;
ALTER TABLE case_import_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_import_failures FORCE ROW LEVEL SECURITY;

CREATE POLICY cases_read ON cases FOR SELECT
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
CREATE POLICY cases_insert ON cases FOR INSERT
    WITH CHECK ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
CREATE POLICY cases_update ON cases FOR UPDATE
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()))
    WITH CHECK ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
-- Handing a request over to another unit (re-routing) writes a row the clerk may no longer read; the
-- application checks that the clerk sees the request and writes the handover with operator rights
-- (cases/store.py, CaseStore.reroute).
CREATE POLICY cases_delete ON cases FOR DELETE
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
CREATE POLICY case_events_groups ON case_events
    USING ((SELECT kw_is_operator()) OR EXISTS (
        SELECT 1 FROM cases c WHERE c.id = case_events.case_id AND c.access_groups && (SELECT kw_groups())));
CREATE POLICY case_import_failures_operator ON case_import_failures
    USING ((SELECT kw_is_operator()));

-- Approved text blocks (Textbausteine) with {{variables}}; the catalogue's services they fit ([] = any).
CREATE TABLE text_blocks (
    id          text PRIMARY KEY,
    title       text NOT NULL,
    kind        text NOT NULL,
    services    text[] NOT NULL DEFAULT '{}',
    body        text NOT NULL,
    variables   text[] NOT NULL DEFAULT '{}',
    approved_by text NOT NULL,
    approved_at timestamptz NOT NULL DEFAULT now()
);
