-- Message search splits words at punctuation, as SQLite's unicode61
-- tokenizer does. PostgreSQL's default text search parser keeps e-mail
-- addresses, host names, URLs, file paths, decimals and signed numbers
-- whole, so `ORD-123456` was indexed as `ord` and `-123456`: the query
-- `123456` missed it, and `example.com` missed `sales@example.com`.
--
-- pons_search_text replaces each ASCII character other than 0-9, A-Z and
-- a-z with a space before the parser reads the text. The search column
-- and pons_search_query (the query side) both call it, so documents and
-- queries are split by one rule. The character ranges are explicit code
-- points because [[:alnum:]] depends on the database locale: under the C
-- locale it matches ASCII only and would split every accented letter. The
-- parser already splits at non-ASCII punctuation and symbols under UTF-8
-- locales such as C.UTF-8 and en_US.UTF-8. The body calls only pg_catalog
-- functions, so the column is recomputed correctly during a pg_restore,
-- which runs with an empty search_path.
CREATE FUNCTION pons_search_text(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT regexp_replace($1, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]', ' ', 'g') $$;

-- Words that mix letters and digits (`café1`) lose their accents too, as
-- on SQLite. The parser yields no hyphenated kinds once hyphens are
-- spaces, but they are mapped like the other word kinds all the same.
ALTER TEXT SEARCH CONFIGURATION pons_text
    ALTER MAPPING FOR numword, numhword, hword_numpart
    WITH unaccent, simple;

-- Dropping the column drops its GIN index. Adding the column back rewrites
-- the table and computes every message's vector under an exclusive lock,
-- so reads and writes of messages wait until the migration commits.
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search TSVECTOR GENERATED ALWAYS AS
    (to_tsvector('pons_text'::regconfig, pons_search_text(coalesce(text, '')))) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);
-- The new column has no statistics, and the rewrite does not count as
-- changed rows, so autovacuum would not analyze it soon. Without them the
-- planner takes the GIN index for common words too: on PostgreSQL 15 with
-- 100,000 messages from `pons bench seed`, finding `order` (in 37 % of
-- them) took 112 ms instead of under 5 ms. An empty table is left alone:
-- analyzed empty, PostgreSQL plans every later query as if the table
-- stayed empty until the next ANALYZE, and without autovacuum a new
-- database then read all its messages for each webhook (`pons bench seed`
-- slowed from about 800 to 180 messages per second by 86,000 messages).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM messages) THEN
        ANALYZE messages (search);
    END IF;
END
$$;

-- Builds the tsquery for the terms of a search, which Pons splits at
-- whitespace and NUL for both backends. Every term must match, and the
-- words of one term (`ORD-123456` has two) must follow each other, as in
-- an FTS5 phrase. Terms in which the parser finds no word are skipped,
-- and when no term is left the result is NULL, which matches no message.
-- The function is IMMUTABLE so that the planner evaluates it with the
-- request's terms and can estimate how many messages they match.
CREATE FUNCTION pons_search_query(terms text[]) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    term text;
    phrase tsquery;
    result tsquery;
BEGIN
    FOREACH term IN ARRAY terms LOOP
        -- phraseto_tsquery raises a NOTICE for text without words, so such
        -- terms are skipped before it runs.
        CONTINUE WHEN coalesce(length(to_tsvector('pons_text', pons_search_text(term))), 0) = 0;
        phrase := phraseto_tsquery('pons_text', pons_search_text(term));
        result := coalesce(result && phrase, phrase);
    END LOOP;
    RETURN result;
END
$$;
