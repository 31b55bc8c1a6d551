-- 0007_customers.sql — customers (M13) with contacts, sharing and the public pool (M14), saved
-- searches, and the search design for Chinese text.
--
-- Search: pg_trgm cannot index a 2-character query (华通), so every customer keeps
-- search_text (name, short name, code, phone, its contacts' names and numbers, one per line)
-- and search_terms = the set of all 2-character pieces of it, GIN-indexed. A query of n ≥ 2
-- characters asks for rows whose search_terms contain all of the query's pieces (index), then
-- checks search_text ILIKE the query (exact substring); 1-character queries are not searched.

CREATE FUNCTION kx_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(s, i, 2)), '{}')
      FROM (SELECT lower(regexp_replace(t, '[[:space:]]+', E'\n', 'g')) AS s) x,
           generate_series(1, char_length(s) - 1) AS i
     WHERE substr(s, i, 2) !~ E'\n'
$$;

CREATE TABLE customers (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
    name            text NOT NULL CHECK (length(name) BETWEEN 2 AND 100),
    name_key        text NOT NULL CHECK (name_key <> ''),      -- dedup key (cgi/core/dedup.c)
    short_name      text NOT NULL DEFAULT '',
    category_id     bigint REFERENCES lookups (id),
    level_id        bigint REFERENCES lookups (id),
    source_id       bigint REFERENCES lookups (id),
    industry_id     bigint REFERENCES lookups (id),
    province_id     integer REFERENCES regions (id),
    city_id         integer REFERENCES regions (id),
    address         text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    phone_key       text NOT NULL DEFAULT '',                  -- digits only
    website         text NOT NULL DEFAULT '',
    tax_id          text NOT NULL DEFAULT '',
    bank_name       text NOT NULL DEFAULT '',
    bank_account    text NOT NULL DEFAULT '',
    owner_id        bigint REFERENCES users (id),              -- NULL: in the public pool (公海)
    status          text NOT NULL DEFAULT 'potential'
                    CHECK (status IN ('potential', 'active', 'dormant', 'lost')),
    credit_limit    numeric(18,2) NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    payment_terms   text NOT NULL DEFAULT '',
    remarks         text NOT NULL DEFAULT '',
    last_contact_on date,
    pool_since      timestamptz,
    archived        boolean NOT NULL DEFAULT false,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    search_text     text NOT NULL DEFAULT '',
    search_terms    text[] GENERATED ALWAYS AS (kx_bigrams(search_text)) STORED,
    CHECK ((owner_id IS NULL) = (pool_since IS NOT NULL))
);
CREATE UNIQUE INDEX customers_code_key ON customers (lower(code));
CREATE UNIQUE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_name_trgm ON customers USING gin (name_key gin_trgm_ops);
CREATE INDEX customers_search_idx ON customers USING gin (search_terms);
CREATE INDEX customers_owner_idx ON customers (owner_id, updated_at DESC, id DESC);
CREATE INDEX customers_updated_idx ON customers (updated_at DESC, id DESC);
CREATE INDEX customers_created_idx ON customers (created_at DESC, id DESC);
CREATE INDEX customers_contact_idx ON customers (last_contact_on DESC NULLS LAST, id DESC);
CREATE INDEX customers_pool_idx ON customers (pool_since DESC, id DESC) WHERE owner_id IS NULL;
CREATE INDEX customers_status_idx ON customers (status, updated_at DESC);
CREATE INDEX customers_category_idx ON customers (category_id);
CREATE INDEX customers_level_idx ON customers (level_id);
CREATE INDEX customers_source_idx ON customers (source_id);
CREATE INDEX customers_industry_idx ON customers (industry_id);
CREATE INDEX customers_region_idx ON customers (province_id, city_id);
CREATE INDEX customers_phone_idx ON customers (phone_key) WHERE phone_key <> '';
CREATE INDEX customers_tax_idx ON customers (tax_id) WHERE tax_id <> '';

CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    title       text NOT NULL DEFAULT '',
    department  text NOT NULL DEFAULT '',
    mobile      text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    wechat      text NOT NULL DEFAULT '',
    birthday    date,
    is_primary  boolean NOT NULL DEFAULT false,
    remarks     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);
CREATE INDEX contacts_customer_idx ON contacts (customer_id, is_primary DESC, id);
CREATE UNIQUE INDEX contacts_one_primary ON contacts (customer_id) WHERE is_primary;
CREATE INDEX contacts_name_idx ON contacts USING gin (kx_bigrams(name || E'\n' || mobile || E'\n' || phone));
CREATE INDEX contacts_mobile_idx ON contacts (mobile) WHERE mobile <> '';

-- search_text follows the customer's own fields and its contacts.
CREATE FUNCTION customers_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := concat_ws(E'\n', NEW.name, NEW.short_name, NEW.code, NEW.phone,
        (SELECT string_agg(concat_ws(E'\n', c.name, c.mobile, c.phone), E'\n' ORDER BY c.id)
           FROM contacts c WHERE c.customer_id = NEW.id));
    RETURN NEW;
END $$;
CREATE TRIGGER customers_search_text BEFORE INSERT OR UPDATE OF name, short_name, code, phone, search_text
    ON customers FOR EACH ROW EXECUTE FUNCTION customers_search_text();

CREATE FUNCTION contacts_touch_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Assigning search_text fires the customer's trigger, which recomputes it.
    UPDATE customers SET search_text = '' WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.customer_id ELSE NEW.customer_id END;
    IF TG_OP = 'UPDATE' AND OLD.customer_id <> NEW.customer_id THEN
        UPDATE customers SET search_text = '' WHERE id = OLD.customer_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_touch_customer AFTER INSERT OR DELETE OR UPDATE OF name, mobile, phone, customer_id
    ON contacts FOR EACH ROW EXECUTE FUNCTION contacts_touch_customer();

-- Shares (共享): read, or read and write, with named colleagues.
CREATE TABLE customer_shares (
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    can_write   boolean NOT NULL DEFAULT false,
    granted_by  bigint REFERENCES users (id),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, user_id)
);
CREATE INDEX customer_shares_user_idx ON customer_shares (user_id, customer_id);

-- Saved searches: a name for a list URL's query string, per user and list.
CREATE TABLE saved_searches (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list       text NOT NULL CHECK (list ~ '^[a-z_]+$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    query      text NOT NULL CHECK (length(query) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, list, name)
);

-- How many customers one salesperson may hold from the pool (per-person limit on claims).
ALTER TABLE users ADD COLUMN pool_claim_limit integer NOT NULL DEFAULT 200 CHECK (pool_claim_limit >= 0);

INSERT INTO doc_sequences (doc_type, name, prefix, pattern, reset, sort)
VALUES ('customer', 'Customer code', 'KH', '{prefix}{######}', 'never', 5);
