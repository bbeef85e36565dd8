"""Minutes assistant: transcripts in, a lawful Niederschrift (and its facts) out."""
