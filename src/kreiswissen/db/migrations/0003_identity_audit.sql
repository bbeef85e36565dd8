-- Identity (users, groups, roles, API tokens) and the hash-chained audit log.

CREATE TABLE groups (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO groups (name, description) VALUES ('alle', 'Alle Beschäftigten');

CREATE TABLE users (
    name            text PRIMARY KEY,
    display_name    text NOT NULL DEFAULT '',
    auth_source     text NOT NULL DEFAULT 'local' CHECK (auth_source IN ('local', 'ldap', 'oidc')),
    password_hash   text,                       -- argon2id (local accounts only)
    roles           text[] NOT NULL DEFAULT '{leser}',
    disabled        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (roles <@ ARRAY['leser', 'redakteur', 'ki-manager', 'administrator', 'datenschutz']::text[])
);

CREATE TABLE user_groups (
    user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    group_name text NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    PRIMARY KEY (user_name, group_name)
);

-- API tokens: only a SHA-256 of the secret is stored; the secret is shown once at creation.
CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_name   text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label       text NOT NULL DEFAULT '',
    token_hash  text NOT NULL UNIQUE,
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    last_used_at timestamptz
);

-- Append-only audit log. Each entry's hash covers its own canonical content and its predecessor's hash, so
-- changing, removing or inserting a row breaks the chain at that row. The trigger assigns the order and the
-- hashes under a lock; the application role may only INSERT and SELECT (grants in migrate.py).
CREATE TABLE audit_log (
    id         bigint PRIMARY KEY,
    ts         timestamptz NOT NULL,
    actor      text NOT NULL,
    event      text NOT NULL,
    details    text NOT NULL,               -- canonical JSON written by the application
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE INDEX audit_log_event ON audit_log (event, ts);

-- The head of the chain (last id and hash): removing the newest entries is detected too.
CREATE TABLE audit_head (
    id        integer PRIMARY KEY CHECK (id = 1),
    last_id   bigint NOT NULL,
    last_hash text NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));

CREATE OR REPLACE FUNCTION kw_audit_hash(p_id bigint, p_ts timestamptz, p_actor text, p_event text,
                                         p_details text, p_prev text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(
      p_id::text || E'\n' || to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
      p_actor || E'\n' || p_event || E'\n' || p_details || E'\n' || p_prev, 'UTF8')), 'hex')
$$;

-- SECURITY DEFINER: it updates audit_head, which the application role cannot write directly.
CREATE OR REPLACE FUNCTION kw_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  head audit_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM audit_head WHERE id = 1 FOR UPDATE;   -- serialises writers: one chain order
  NEW.id := head.last_id + 1;
  NEW.ts := clock_timestamp();
  NEW.prev_hash := head.last_hash;
  NEW.hash := kw_audit_hash(NEW.id, NEW.ts, NEW.actor, NEW.event, NEW.details, NEW.prev_hash);
  UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash WHERE id = 1;
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION kw_audit_chain();

-- Signed checkpoints: an HMAC (key outside the database) over a chain position. Expiring old entries keeps
-- the rest verifiable from the last checkpoint before the cut.
CREATE TABLE audit_checkpoints (
    entry_id   bigint PRIMARY KEY,
    entry_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    signature  text NOT NULL
);
