-- Search across every transcript (SQLite FTS5): each segment's text and its speaker's
-- shown name, accents and case ignored (cache_key is indexed too: a transcript's rows are
-- found by it to be replaced). Kept in step by the store (store/search.py).
CREATE VIRTUAL TABLE transcript_search USING fts5 (
    name,
    text,
    cache_key,
    segment UNINDEXED,
    start UNINDEXED,
    speaker UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The results already in an older history, with the names people typed.
INSERT INTO transcript_search (name, text, cache_key, segment, start, speaker)
SELECT
    COALESCE(
        (SELECT n.name FROM speaker_names n
         WHERE n.cache_key = r.cache_key AND n.speaker_id = json_extract(s.value, '$.speaker')),
        (SELECT json_extract(p.value, '$.name') FROM json_each(r.transcript, '$.speakers') p
         WHERE json_extract(p.value, '$.id') = json_extract(s.value, '$.speaker')),
        ''),
    json_extract(s.value, '$.text'),
    r.cache_key,
    CAST(s.key AS INTEGER),
    json_extract(s.value, '$.start'),
    json_extract(s.value, '$.speaker')
FROM results r, json_each(r.transcript, '$.segments') s;
