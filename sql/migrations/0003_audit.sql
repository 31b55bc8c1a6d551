-- 0003_audit.sql — the audit trail (操作日志) and login log (登录日志): one append-only table.
-- The application role may add and read rows, never change or remove them.

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      bigint REFERENCES users (id),
    username     text NOT NULL DEFAULT '',
    client_addr  text NOT NULL DEFAULT '',
    module       text NOT NULL,
    action       text NOT NULL,
    object_type  text NOT NULL DEFAULT '',
    object_id    bigint,
    object_label text NOT NULL DEFAULT '',
    changes      jsonb,
    result       text NOT NULL DEFAULT 'ok' CHECK (result IN ('ok', 'denied', 'failed')),
    request_id   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at DESC);
CREATE INDEX audit_log_module_idx ON audit_log (module, action, at DESC);

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM kexin_app;
