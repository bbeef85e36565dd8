-- A signed principal: the application sets groups, operator flag and an HMAC over both per transaction;
-- row-level security only honours them when the HMAC verifies. The key lives in a table the application
-- role cannot read (migrate.py revokes it) and, for the application, in a file outside the database.
-- SQL slipped into a session (an injection) can still call set_config, but cannot sign other groups.

CREATE TABLE kw_principal_key (
    id  integer PRIMARY KEY CHECK (id = 1),
    key bytea NOT NULL
);

-- HMAC-SHA256 (RFC 2104) with core functions only (pgcrypto is not always installed).
CREATE OR REPLACE FUNCTION kw_hmac_sha256(p_key bytea, p_msg bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  k bytea := p_key;
  ipad bytea;
  opad bytea;
BEGIN
  IF length(k) > 64 THEN k := sha256(k); END IF;
  k := k || decode(repeat('00', 64 - length(k)), 'hex');
  ipad := k; opad := k;
  FOR i IN 0..63 LOOP
    ipad := set_byte(ipad, i, get_byte(k, i) # 54);   -- 0x36
    opad := set_byte(opad, i, get_byte(k, i) # 92);   -- 0x5c
  END LOOP;
  RETURN encode(sha256(opad || sha256(ipad || p_msg)), 'hex');
END
$$;

-- SECURITY DEFINER: reads the key the application role may not read. STABLE; the policies below call the
-- principal functions through scalar subqueries, so this runs once per statement, not once per row.
CREATE OR REPLACE FUNCTION kw_principal_ok() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  k bytea;
  groups text := COALESCE(current_setting('kreiswissen.groups', true), '');
  op text := CASE WHEN COALESCE(current_setting('kreiswissen.operator', true), '') = 'on' THEN 'on' ELSE 'off' END;
  mac text := COALESCE(current_setting('kreiswissen.principal_mac', true), '');
BEGIN
  SELECT key INTO k FROM kw_principal_key WHERE id = 1;
  IF k IS NULL OR mac = '' THEN
    RETURN false;
  END IF;
  RETURN kw_hmac_sha256(k, convert_to(groups || E'\n' || op, 'UTF8')) = mac;
END
$$;

CREATE OR REPLACE FUNCTION kw_groups() RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN kw_principal_ok()
              THEN COALESCE(NULLIF(current_setting('kreiswissen.groups', true), ''), '{}')::text[]
              ELSE '{}'::text[] END
$$;

CREATE OR REPLACE FUNCTION kw_is_operator() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT COALESCE(current_setting('kreiswissen.operator', true), '') = 'on' AND kw_principal_ok()
$$;

DROP POLICY documents_read ON documents;
DROP POLICY chunks_read ON chunks;
DROP POLICY postings_read ON postings;
CREATE POLICY documents_read ON documents
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
CREATE POLICY chunks_read ON chunks
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
CREATE POLICY postings_read ON postings
    USING ((SELECT kw_is_operator()) OR access_groups && (SELECT kw_groups()));
