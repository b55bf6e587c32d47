-- 0001: the first schema. Times are UTC text in the fixed-width layout
-- 2006-01-02T15:04:05.000000000Z, so they sort as text and round-trip to the nanosecond;
-- NULL stands for the zero time where a column may be unset.

CREATE TABLE apis (
    name    TEXT PRIMARY KEY,
    context TEXT NOT NULL,
    hosts   TEXT CHECK (hosts IS NULL OR json_valid(hosts)) -- JSON array; NULL when none
) STRICT;

CREATE TABLE resources (
    api    TEXT NOT NULL REFERENCES apis (name) ON DELETE CASCADE,
    method TEXT NOT NULL,
    path   TEXT NOT NULL,
    auth   TEXT NOT NULL CHECK (auth IN ('required', 'none')),
    PRIMARY KEY (api, method, path)
) STRICT;

-- position keeps each resource's scopes in the order they were given.
CREATE TABLE resource_scopes (
    api      TEXT NOT NULL,
    method   TEXT NOT NULL,
    path     TEXT NOT NULL,
    position INTEGER NOT NULL,
    scope    TEXT NOT NULL,
    PRIMARY KEY (api, method, path, position),
    FOREIGN KEY (api, method, path) REFERENCES resources (api, method, path) ON DELETE CASCADE
) STRICT;

CREATE TABLE applications (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) STRICT;

-- The STS credentials: one per application and environment. Only the secret's HMAC.
CREATE TABLE credentials (
    client_id   TEXT PRIMARY KEY,
    application TEXT NOT NULL REFERENCES applications (name) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    secret_hash BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (application, environment)
) STRICT;

-- Client IDs of external issuers. The STS issuer's client IDs are the credentials.
CREATE TABLE client_bindings (
    issuer      TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    application TEXT NOT NULL REFERENCES applications (name) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('production', 'sandbox')),
    PRIMARY KEY (issuer, client_id)
) STRICT;
CREATE INDEX client_bindings_application ON client_bindings (application);

CREATE TABLE subscriptions (
    application TEXT NOT NULL REFERENCES applications (name) ON DELETE CASCADE,
    api         TEXT NOT NULL REFERENCES apis (name) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'prod_only_blocked')),
    PRIMARY KEY (application, api)
) STRICT;
CREATE INDEX subscriptions_api ON subscriptions (api);

-- A key is active while retired_at is NULL; a retired key has both times set.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    public_jwk   TEXT NOT NULL CHECK (json_valid(public_jwk)),
    sealed       BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    retired_at   TEXT,
    remove_after TEXT,
    CHECK ((retired_at IS NULL) = (remove_after IS NULL))
) STRICT;
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (retired_at IS NULL) WHERE retired_at IS NULL;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL CHECK (json_valid(detail))
) STRICT;

-- The change counter pollers watch: one row, advanced by every committed change.
CREATE TABLE meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO meta (id, version) VALUES (1, 0);
