-- 0012_search_refresh_at_commit.sql — a customer's search row is computed once per transaction,
-- at its commit, however many of its contacts the transaction writes. Before, creating a customer
-- with a contact computed it twice (the customer, then the contact), an import row two or three
-- times. The triggers become deferred constraint triggers: they fire when the data is final, and
-- the first one for a customer refreshes it; the others see that this transaction has written
-- the row already (its xmin is this transaction) and do nothing. Only these triggers write
-- customer_search, so a row of this transaction was written at commit time.
CREATE OR REPLACE FUNCTION kx_customer_search_refresh(cid bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    IF EXISTS (SELECT 1 FROM customer_search
                WHERE customer_id = cid AND xmin::text::bigint = txid_current() % 4294967296) THEN
        RETURN;
    END IF;
    t := kx_customer_search_text(cid);
    IF t IS NULL THEN
        RETURN; -- the customer was deleted: its row went with it (ON DELETE CASCADE)
    END IF;
    INSERT INTO customer_search (customer_id, text) VALUES (cid, t)
        ON CONFLICT (customer_id) DO UPDATE SET text = EXCLUDED.text;
END $$;

DROP TRIGGER customers_search_refresh ON customers;
CREATE CONSTRAINT TRIGGER customers_search_refresh AFTER INSERT OR UPDATE OF name, short_name, code, phone
    ON customers DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION customers_search_refresh();

DROP TRIGGER contacts_search_refresh ON contacts;
CREATE CONSTRAINT TRIGGER contacts_search_refresh AFTER INSERT OR DELETE OR UPDATE OF name, mobile, phone, customer_id
    ON contacts DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION contacts_search_refresh();
