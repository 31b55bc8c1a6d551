-- 0011_fast_bigrams.sql — kx_bigrams without a loop. The PL/pgSQL loop of 0008 appended one
-- piece at a time and searched the array for it before each append: 0.4 ms for a customer's
-- ~100-character search text, computed at least twice per imported row (the customer, then its
-- contact), which made it the largest single cost of an import. Now the pieces at even and at
-- odd positions are cut by two regexp_replace calls (built-in C) in one expression: ~4.5 times
-- faster, measured on 5,000 search texts.
--
-- The result differs in two harmless ways: pieces may repeat (GIN keeps each key once per row),
-- and pieces with a blank are kept (a query's pieces are pieces of any text containing it, so
-- containment still holds; a query with a blank now narrows by it too). A control character
-- U+0001, used as the separator, is dropped from the text first.
CREATE OR REPLACE FUNCTION kx_bigrams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s text := replace(lower(t), E'\x01', '');
    n integer := char_length(s);
BEGIN
    RETURN array_cat(
        string_to_array(rtrim(regexp_replace(left(s, n - n % 2), '(..)', E'\\1\x01', 'g'), E'\x01'), E'\x01'),
        string_to_array(rtrim(regexp_replace(substr(s, 2, (n - 1) - (n - 1) % 2), '(..)', E'\\1\x01', 'g'),
                              E'\x01'), E'\x01'));
END $$;

-- What depends on it is computed again: the stored pieces and the contacts' expression index.
UPDATE customer_search SET text = text;
REINDEX INDEX contacts_name_idx;
REINDEX INDEX customer_search_terms_idx;
