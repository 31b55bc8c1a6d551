-- 0002_organisation.sql — departments (tree), users' place in the organisation, roles with a
-- module × action matrix and a data scope.

CREATE TABLE departments (
    id         bigserial PRIMARY KEY,
    parent_id  bigint REFERENCES departments (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    sort       integer NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1,
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE UNIQUE INDEX departments_name_key ON departments (coalesce(parent_id, 0), lower(name));
CREATE INDEX departments_parent_idx ON departments (parent_id);

ALTER TABLE users
    ADD COLUMN department_id  bigint REFERENCES departments (id),
    ADD COLUMN manager_id     bigint REFERENCES users (id),
    ADD COLUMN title          text NOT NULL DEFAULT '',
    ADD COLUMN phone          text NOT NULL DEFAULT '',
    ADD COLUMN email          text NOT NULL DEFAULT '',
    -- the largest discount (percent off the list price) this salesperson may give without approval
    ADD COLUMN discount_limit numeric(5,2) NOT NULL DEFAULT 0 CHECK (discount_limit BETWEEN 0 AND 100),
    ADD CONSTRAINT users_not_own_manager CHECK (manager_id IS DISTINCT FROM id);
CREATE INDEX users_manager_idx ON users (manager_id);
CREATE INDEX users_department_idx ON users (department_id);

-- Data scope, narrowest to widest; a user with several roles gets the widest.
CREATE TABLE roles (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,30}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    description text NOT NULL DEFAULT '',
    data_scope  text NOT NULL DEFAULT 'own'
                CHECK (data_scope IN ('own', 'subordinates', 'department', 'department_tree', 'all')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE TABLE role_permissions (
    role_id bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    module  text NOT NULL CHECK (module ~ '^[a-z_]+$'),
    action  text NOT NULL CHECK (action IN ('view', 'create', 'edit', 'delete', 'approve', 'export', 'print')),
    PRIMARY KEY (role_id, module, action)
);

CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id bigint NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);
