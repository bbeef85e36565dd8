-- Conversations (follow-up questions): personal data of the asking user, readable only by their owner.
--
-- The signed principal of 0006 carries groups and the operator flag, not a name. Ownership needs the name,
-- so it is signed the same way: the application sets kreiswissen.principal_name and
-- kreiswissen.principal_name_mac = HMAC-SHA256(key, 'name' || E'\n' || name) per transaction. The message
-- starts with 'name', a groups literal always with '{': neither signature can stand in for the other.
-- Without a valid signature the name is NULL and no conversation is visible (fail closed).

CREATE OR REPLACE FUNCTION kw_principal_name() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  k bytea;
  who text := COALESCE(current_setting('kreiswissen.principal_name', true), '');
  mac text := COALESCE(current_setting('kreiswissen.principal_name_mac', true), '');
BEGIN
  IF who = '' OR mac = '' THEN
    RETURN NULL;
  END IF;
  SELECT key INTO k FROM kw_principal_key WHERE id = 1;
  IF k IS NULL OR kw_hmac_sha256(k, convert_to('name' || E'\n' || who, 'UTF8')) <> mac THEN
    RETURN NULL;
  END IF;
  RETURN who;
END
$$;

CREATE TABLE conversations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner      text NOT NULL,                  -- the principal's name (a user, or a CLI/API identity)
    title      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Listing one user's conversations, newest first; retention scans by updated_at.
CREATE INDEX conversations_owner_updated ON conversations (owner, updated_at DESC);
CREATE INDEX conversations_updated ON conversations (updated_at);

CREATE TABLE conversation_turns (
    conversation_id     uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn                integer NOT NULL CHECK (turn >= 1),
    question            text NOT NULL,
    standalone_question text NOT NULL,
    answer              text NOT NULL,
    mode                text NOT NULL CHECK (mode IN ('generated', 'extractive', 'refused')),
    citations           jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, turn)
);

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE conversation_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_turns FORCE ROW LEVEL SECURITY;

-- Owner only; operators (local administration, DSGVO export/erasure, retention) see every conversation,
-- as they see every document. USING also checks inserted and updated rows: nobody writes into another
-- user's conversation, nor gives one away.
CREATE POLICY conversations_owner ON conversations
    USING ((SELECT kw_is_operator()) OR owner = (SELECT kw_principal_name()));
CREATE POLICY conversation_turns_owner ON conversation_turns
    USING ((SELECT kw_is_operator()) OR EXISTS (
        SELECT 1 FROM conversations c
        WHERE c.id = conversation_turns.conversation_id AND c.owner = (SELECT kw_principal_name())));
