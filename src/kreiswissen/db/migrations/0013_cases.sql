-- Standard cases (issue 7): the catalogue of services (Leistungen) and responsible units.
--
-- The catalogue is public information of the administration (who is responsible for what): every principal
-- reads it; it is replaced as a whole by an import (kreiswissen cases catalogue import), which the
-- application allows operators and administrators only.
CREATE TABLE service_units (
    id      text PRIMARY KEY,
    name    text NOT NULL,
    address text NOT NULL DEFAULT '',
    phone   text NOT NULL DEFAULT '',
    email   text NOT NULL DEFAULT '',
    hours   text NOT NULL DEFAULT ''
);

CREATE TABLE services (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    unit_id     text NOT NULL REFERENCES service_units (id),
    level       text NOT NULL DEFAULT 'kreis' CHECK (level IN ('kreis', 'gemeinde')),
    grp         text NOT NULL DEFAULT '',
    synonyms    text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    legal_bases text[] NOT NULL DEFAULT '{}',
    documents   text[] NOT NULL DEFAULT '{}',
    fees        text NOT NULL DEFAULT '',
    deadlines   text NOT NULL DEFAULT '',
    online      boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalogue_meta (
    key   text PRIMARY KEY,
    value text NOT NULL DEFAULT ''
);
