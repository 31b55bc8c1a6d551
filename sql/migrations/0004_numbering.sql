-- 0004_numbering.sql — document number patterns and their counters. A counter row is locked
-- by the business transaction that takes a number, so a rollback gives the number back and
-- numbers stay gapless; each document table also has a unique index on its number.

CREATE TABLE doc_sequences (
    doc_type   text PRIMARY KEY CHECK (doc_type ~ '^[a-z][a-z0-9_]{1,40}$'),
    name       text NOT NULL,
    prefix     text NOT NULL DEFAULT '' CHECK (prefix ~ '^[A-Za-z0-9-]{0,8}$'),
    pattern    text NOT NULL DEFAULT '{prefix}{yyyy}{mm}{dd}{####}'
               CHECK (length(pattern) BETWEEN 1 AND 60 AND pattern ~ '\{#+\}'),
    reset      text NOT NULL DEFAULT 'daily' CHECK (reset IN ('daily', 'monthly', 'yearly', 'never')),
    sort       integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1
);

CREATE TABLE doc_counters (
    doc_type   text NOT NULL REFERENCES doc_sequences (doc_type) ON DELETE CASCADE,
    period     text NOT NULL,
    last_value bigint NOT NULL CHECK (last_value > 0),
    PRIMARY KEY (doc_type, period)
);

INSERT INTO doc_sequences (doc_type, name, prefix, pattern, reset, sort) VALUES
    ('quote',            'Quote',                 'QT', '{prefix}{yyyy}{mm}{dd}{####}', 'daily',   10),
    ('sales_order',      'Sales order',           'SO', '{prefix}{yyyy}{mm}{dd}{####}', 'daily',   20),
    ('receipt',          'Payment received',      'RC', '{prefix}{yyyy}{mm}{dd}{####}', 'daily',   30),
    ('invoice_request',  'Invoice record',        'IV', '{prefix}{yyyy}{mm}{####}',     'monthly', 40),
    ('expense',          'Expense claim',         'EX', '{prefix}{yyyy}{mm}{####}',     'monthly', 50),
    ('shipping_notice',  'Shipping notice',       'SN', '{prefix}{yyyy}{mm}{dd}{###}',  'daily',   60),
    ('outbound',         'Stock-out slip',        'OB', '{prefix}{yyyy}{mm}{dd}{###}',  'daily',   70),
    ('sample',           'Sample issue',          'SP', '{prefix}{yyyy}{mm}{####}',     'monthly', 80),
    ('loan',             'Loan slip',             'LN', '{prefix}{yyyy}{mm}{####}',     'monthly', 90),
    ('loan_return',      'Loan return',           'LR', '{prefix}{yyyy}{mm}{####}',     'monthly', 100),
    ('sales_return',     'Sales return',          'SR', '{prefix}{yyyy}{mm}{####}',     'monthly', 110),
    ('rfq',              'Request for quotation', 'RQ', '{prefix}{yyyy}{mm}{####}',     'monthly', 120),
    ('purchase_order',   'Purchase order',        'PO', '{prefix}{yyyy}{mm}{dd}{###}',  'daily',   130),
    ('goods_receipt',    'Goods receipt',         'GR', '{prefix}{yyyy}{mm}{dd}{###}',  'daily',   140),
    ('supplier_payment', 'Supplier payment',      'PY', '{prefix}{yyyy}{mm}{####}',     'monthly', 150),
    ('requisition',      'Material requisition',  'MR', '{prefix}{yyyy}{mm}{####}',     'monthly', 160),
    ('stocktake',        'Stocktake',             'ST', '{prefix}{yyyy}{####}',         'yearly',  170),
    ('transfer',         'Stock transfer',        'TR', '{prefix}{yyyy}{mm}{####}',     'monthly', 180);
