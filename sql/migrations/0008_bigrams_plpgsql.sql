-- 0008_bigrams_plpgsql.sql — kx_bigrams as PL/pgSQL: the SQL-language version cannot be inlined
-- where it is used (a stored generated column, index expressions) and was planned again on
-- every row written; PL/pgSQL keeps its plan. Same result set (order inside the array differs,
-- which containment (@>) ignores), so stored values stay valid.
CREATE OR REPLACE FUNCTION kx_bigrams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s   text := lower(t);
    n   integer := char_length(s);
    out text[] := '{}';
    p   text;
BEGIN
    FOR i IN 1 .. n - 1 LOOP
        p := substr(s, i, 2);
        IF p !~ '[[:space:]]' AND NOT (p = ANY (out)) THEN
            out := out || p;
        END IF;
    END LOOP;
    RETURN out;
END $$;
