"""Bible editions, references, the USFM/TSV import and the curated fallback verses."""
