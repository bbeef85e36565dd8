-- Minutes (Niederschriften): drafts, their review and approval.
--
-- A draft holds the whole session, non-public deliberations included, so it is readable only by its owner
-- (the Protokollführer who created it) and by operators, like conversations (0007). Who else may read the
-- non-public TOPs is decided at approval: the approved minutes are ingested as two documents, the public
-- part for everyone and the non-public part for ``nonpublic_groups`` only; those documents carry their own
-- access groups under the document policies.

CREATE TABLE minutes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner            text NOT NULL,                 -- principal name of the Protokollführer
    status           text NOT NULL DEFAULT 'entwurf' CHECK (status IN ('entwurf', 'bearbeitet', 'genehmigt')),
    title            text,
    body             text,                          -- Gremium
    session          text,
    meeting_date     date,
    source_file      text NOT NULL,
    source_sha256    text NOT NULL,
    content          jsonb NOT NULL,                -- Minutes.to_json()
    nonpublic_groups text[] NOT NULL DEFAULT '{}',  -- who may read the non-public TOPs once approved
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    approved_at      timestamptz,
    approved_by      text
);
CREATE INDEX minutes_owner_updated ON minutes (owner, updated_at DESC);

CREATE TABLE minutes_events (
    id         bigserial PRIMARY KEY,
    minutes_id uuid NOT NULL REFERENCES minutes (id) ON DELETE CASCADE,
    actor      text NOT NULL,
    action     text NOT NULL CHECK (action IN ('create', 'edit', 'approve', 'export')),
    details    jsonb NOT NULL DEFAULT '{}'::jsonb,  -- edit: {"changes": {key: [old, new]}}
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX minutes_events_minutes ON minutes_events (minutes_id, id);

ALTER TABLE minutes ENABLE ROW LEVEL SECURITY;
ALTER TABLE minutes FORCE ROW LEVEL SECURITY;
ALTER TABLE minutes_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE minutes_events FORCE ROW LEVEL SECURITY;

CREATE POLICY minutes_owner ON minutes
    USING ((SELECT kw_is_operator()) OR owner = (SELECT kw_principal_name()));
CREATE POLICY minutes_events_owner ON minutes_events
    USING ((SELECT kw_is_operator()) OR EXISTS (
        SELECT 1 FROM minutes m
        WHERE m.id = minutes_events.minutes_id AND m.owner = (SELECT kw_principal_name())));
