-- 0001_accounts.sql — users, sessions, failed logins, and the application role's rights.
-- Runs as the schema owner (role kexin); the application connects as kexin_app, which gets
-- only the rights granted here and by later migrations.

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kexin_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO kexin_app;
GRANT USAGE ON SCHEMA public TO kexin_app;

CREATE TABLE users (
    id                   bigserial PRIMARY KEY,
    username             text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
    display_name         text NOT NULL DEFAULT '',
    password_hash        text NOT NULL,
    lang                 text CHECK (lang IN ('zh_CN', 'en')),
    is_admin             boolean NOT NULL DEFAULT false,
    active               boolean NOT NULL DEFAULT true,
    must_change_password boolean NOT NULL DEFAULT false,
    password_changed_at  timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- Session tokens are 256-bit random values; only their SHA-256 is stored, so a database
-- leak does not hand out live sessions.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    client_addr  text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_created_idx ON sessions (created_at);

CREATE TABLE login_failures (
    id          bigserial PRIMARY KEY,
    username    text NOT NULL,
    client_addr text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user_idx ON login_failures (lower(username), at);
CREATE INDEX login_failures_addr_idx ON login_failures (client_addr, at);
