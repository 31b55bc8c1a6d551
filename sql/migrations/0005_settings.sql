-- 0005_settings.sql — company profile and the reference lists every module picks from,
-- seeded with sensible Chinese defaults (editable on the settings pages).

CREATE TABLE company_profile (
    id             integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name           text NOT NULL DEFAULT '',
    short_name     text NOT NULL DEFAULT '',
    address        text NOT NULL DEFAULT '',
    phone          text NOT NULL DEFAULT '',
    fax            text NOT NULL DEFAULT '',
    email          text NOT NULL DEFAULT '',
    website        text NOT NULL DEFAULT '',
    tax_id         text NOT NULL DEFAULT '',
    bank_name      text NOT NULL DEFAULT '',
    bank_account   text NOT NULL DEFAULT '',
    quote_terms    text NOT NULL DEFAULT '',
    contract_terms text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1
);
INSERT INTO company_profile (id) VALUES (1);

CREATE TABLE tax_rates (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    rate       numeric(6,4) NOT NULL UNIQUE CHECK (rate >= 0 AND rate < 1),
    is_default boolean NOT NULL DEFAULT false,
    sort       integer NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true,
    version    integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX tax_rates_one_default ON tax_rates (is_default) WHERE is_default;
INSERT INTO tax_rates (name, rate, is_default, sort) VALUES
    ('13%', 0.13, true, 10), ('9%', 0.09, false, 20), ('6%', 0.06, false, 30),
    ('3%', 0.03, false, 40), ('1%', 0.01, false, 50), ('0%', 0, false, 60);

CREATE TABLE currencies (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    name        text NOT NULL,
    symbol      text NOT NULL DEFAULT '',
    rate_to_cny numeric(18,6) NOT NULL CHECK (rate_to_cny > 0),
    sort        integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CHECK (code <> 'CNY' OR rate_to_cny = 1)
);
INSERT INTO currencies (code, name, symbol, rate_to_cny, sort) VALUES
    ('CNY', '人民币', '¥', 1, 10), ('USD', '美元', '$', 7.100000, 20), ('EUR', '欧元', '€', 7.700000, 30),
    ('HKD', '港币', 'HK$', 0.910000, 40), ('JPY', '日元', '¥', 0.047000, 50), ('GBP', '英镑', '£', 9.000000, 60);

CREATE TABLE bank_accounts (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    kind            text NOT NULL DEFAULT 'bank' CHECK (kind IN ('bank', 'cash', 'wechat', 'alipay', 'other')),
    bank_name       text NOT NULL DEFAULT '',
    account_no      text NOT NULL DEFAULT '',
    currency        text NOT NULL DEFAULT 'CNY' REFERENCES currencies (code),
    opening_balance numeric(18,2) NOT NULL DEFAULT 0,
    sort            integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1
);
INSERT INTO bank_accounts (name, kind, sort) VALUES ('现金', 'cash', 10);

-- Simple named lists share one table; `kind` says which list.
CREATE TABLE lookups (
    id      bigserial PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('payment_method', 'unit', 'customer_category', 'customer_level',
                                          'customer_source', 'industry', 'expense_type')),
    name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    sort    integer NOT NULL DEFAULT 0,
    active  boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX lookups_name_key ON lookups (kind, lower(name));
CREATE INDEX lookups_kind_idx ON lookups (kind, sort);
INSERT INTO lookups (kind, name, sort)
SELECT k, n, o * 10 FROM (VALUES
    ('payment_method', ARRAY['银行转账', '现金', '支票', '银行承兑汇票', '商业承兑汇票', '微信支付', '支付宝']),
    ('unit', ARRAY['个', '件', '台', '套', '箱', '包', '米', '千克', '吨', '升', '小时', '次', '年']),
    ('customer_category', ARRAY['终端客户', '经销商', '代理商', '系统集成商', '合作伙伴']),
    ('customer_level', ARRAY['A 重点客户', 'B 普通客户', 'C 一般客户', 'D 潜在客户']),
    ('customer_source', ARRAY['网络推广', '客户介绍', '展会', '电话开发', '老客户', '招投标', '其他']),
    ('industry', ARRAY['制造业', '批发零售', '信息技术', '建筑工程', '医疗卫生', '教育培训', '金融保险',
                       '物流运输', '能源化工', '政府机关', '餐饮酒店', '农林牧渔', '其他']),
    ('expense_type', ARRAY['差旅费', '市内交通费', '业务招待费', '通讯费', '办公费', '快递费', '样品费', '会议费', '其他'])
) AS l(k, names), unnest(names) WITH ORDINALITY AS u(n, o);

CREATE TABLE opportunity_stages (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    probability integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    outcome     text NOT NULL DEFAULT 'open' CHECK (outcome IN ('open', 'won', 'lost')),
    sort        integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    version     integer NOT NULL DEFAULT 1
);
INSERT INTO opportunity_stages (name, probability, outcome, sort) VALUES
    ('初步接洽', 10, 'open', 10), ('需求确认', 30, 'open', 20), ('方案/报价', 50, 'open', 30),
    ('谈判', 70, 'open', 40), ('赢单', 100, 'won', 50), ('输单', 0, 'lost', 60);

CREATE TABLE couriers (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    code         text NOT NULL DEFAULT '',
    tracking_url text NOT NULL DEFAULT '' CHECK (tracking_url = '' OR tracking_url ~ '^https?://.*\{number\}'),
    sort         integer NOT NULL DEFAULT 0,
    active       boolean NOT NULL DEFAULT true,
    version      integer NOT NULL DEFAULT 1
);
INSERT INTO couriers (name, code, tracking_url, sort) VALUES
    ('顺丰速运', 'SF', 'https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}', 10),
    ('中通快递', 'ZTO', 'https://www.zto.com/?num={number}', 20),
    ('圆通速递', 'YTO', 'https://www.yto.net.cn/?num={number}', 30),
    ('韵达快递', 'YD', 'https://www.yundaex.com/?num={number}', 40),
    ('申通快递', 'STO', 'https://www.sto.cn/?num={number}', 50),
    ('京东物流', 'JD', 'https://www.jdl.com/?num={number}', 60),
    ('中国邮政EMS', 'EMS', 'https://www.ems.com.cn/?mailNum={number}', 70),
    ('德邦快递', 'DBL', 'https://www.deppon.com/?num={number}', 80);

CREATE TABLE warehouses (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9-]{1,16}$'),
    name           text NOT NULL UNIQUE,
    address        text NOT NULL DEFAULT '',
    keeper_id      bigint REFERENCES users (id),
    allow_negative boolean NOT NULL DEFAULT false,
    sort           integer NOT NULL DEFAULT 0,
    active         boolean NOT NULL DEFAULT true,
    version        integer NOT NULL DEFAULT 1
);
INSERT INTO warehouses (code, name, sort) VALUES ('WH01', '主仓库', 10);
