-- 0014_search_write_many.sql — the search rows of many customers in one statement.
--
-- An import of 10,000 customers wrote their search rows one by one at its commit, through the
-- deferred triggers of 0012: 10,000 calls of a PL/pgSQL function, each with its own statement
-- (0.35 ms per customer, a fifth of the import). kx_customer_search_write(ids) writes the rows of
-- many customers at once (0.16 ms per customer, measured on 10,000); the import calls it for every
-- customer it touched once its changes are final, just before its commit. The deferred triggers
-- then find the rows written by this transaction and do nothing, as they already did for the
-- second change of a customer in one transaction. kx_customer_search_refresh (the triggers' one
-- customer) now goes through the same statement, so the row is computed in one place.
--
-- The rule that makes the triggers' shortcut right still holds: a transaction writes a search row
-- only when it changes nothing more of that customer afterwards.
CREATE FUNCTION kx_customer_search_write(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- A customer deleted meanwhile has no row here (its search row went with it: ON DELETE
    -- CASCADE); an id given twice is one customer row, written once.
    INSERT INTO customer_search (customer_id, text, updated_at, live)
    SELECT c.id, kx_customer_search_text(c.id), c.updated_at, c.owner_id IS NOT NULL AND NOT c.archived
      FROM customers c WHERE c.id = ANY(ids)
        ON CONFLICT (customer_id) DO UPDATE
       SET text = EXCLUDED.text, updated_at = EXCLUDED.updated_at, live = EXCLUDED.live;
END $$;

CREATE OR REPLACE FUNCTION kx_customer_search_refresh(cid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM customer_search
                WHERE customer_id = cid AND xmin::text::bigint = txid_current() % 4294967296) THEN
        RETURN; -- already written by this transaction, its changes to this customer final
    END IF;
    PERFORM kx_customer_search_write(ARRAY[cid]);
END $$;
