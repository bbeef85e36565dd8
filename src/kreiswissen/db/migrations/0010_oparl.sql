-- OParl import (minutes/oparl.py): the incremental sync state per system and body, and the OParl objects the
-- knowledge base has no place for (Meetings, AgendaItems for the minutes drafts; Papers with their metadata and
-- the local files ingested for them, so a deleted Paper can remove its documents).
--
-- Agenda items can be non-public (public = false) and name personnel or property matters: these tables are for
-- the operator (the sync job, the administration) only, like the job queue's internals.
CREATE TABLE oparl_sync (
    system_url    text NOT NULL,
    body_id       text NOT NULL,
    last_modified timestamptz,            -- sent as modified_since on the next run (start of the last good run)
    last_run      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (system_url, body_id)
);

CREATE TABLE oparl_objects (
    id        text PRIMARY KEY,           -- the object's URL (its OParl id)
    type      text NOT NULL,              -- Paper | Meeting | AgendaItem
    body      text NOT NULL,              -- the Body's id
    modified  timestamptz,
    public    boolean,                    -- AgendaItem.public (NULL: not stated)
    parent    text,                       -- an AgendaItem's Meeting
    metadata  jsonb NOT NULL DEFAULT '{}'::jsonb,  -- what we derived: reference, paper type, date, body name, files
    json      jsonb NOT NULL,             -- the object as served
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oparl_objects_body_type ON oparl_objects (body, type);
CREATE INDEX oparl_objects_parent ON oparl_objects (parent);

ALTER TABLE oparl_sync ENABLE ROW LEVEL SECURITY;
ALTER TABLE oparl_sync FORCE ROW LEVEL SECURITY;
CREATE POLICY oparl_sync_operator ON oparl_sync USING ((SELECT kw_is_operator()));
ALTER TABLE oparl_objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE oparl_objects FORCE ROW LEVEL SECURITY;
CREATE POLICY oparl_objects_operator ON oparl_objects USING ((SELECT kw_is_operator()));
