-- Document classification: öffentlich, intern (default), vertraulich, personenbezogen. Reading is still
-- decided by access groups (RLS); personenbezogen documents are indexed pseudonymised.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS classification text NOT NULL DEFAULT 'intern'
    CHECK (classification IN ('oeffentlich', 'intern', 'vertraulich', 'personenbezogen'));
