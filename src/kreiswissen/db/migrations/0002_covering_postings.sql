-- Lexical search reads the best postings per term; with chunk id and groups in the index it needs no heap
-- access (an index-only scan once the visibility map is set), which is most of its cost at 100k chunks.
DROP INDEX IF EXISTS postings_term_impact;
CREATE INDEX postings_term_impact ON postings (term, impact DESC) INCLUDE (chunk_id, access_groups);
-- The municipality list for query analysis.
CREATE INDEX IF NOT EXISTS documents_municipality ON documents (municipality) WHERE is_current;
