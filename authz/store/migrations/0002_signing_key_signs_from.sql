-- 0002: a signing key is published before it signs (sts.key_prepublish), so that verifiers
-- that cache the JWKS have it by its first token: signs_from is when it begins to sign.
-- Every process on the store switches keys at the times stored here, so they agree.
-- A key signs from signs_from until retired_at (when set; it may lie in the future, as
-- its successor's signs_from); a key retired at or before its signs_from never signs.
-- The keys of an older schema already sign: they sign from their creation.
CREATE TABLE signing_keys_v2 (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    public_jwk   TEXT NOT NULL CHECK (json_valid(public_jwk)),
    sealed       BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    signs_from   TEXT NOT NULL CHECK (signs_from >= created_at),
    retired_at   TEXT,
    remove_after TEXT,
    CHECK ((retired_at IS NULL) = (remove_after IS NULL))
) STRICT;
INSERT INTO signing_keys_v2 (kid, algorithm, public_jwk, sealed, created_at, signs_from, retired_at, remove_after)
    SELECT kid, algorithm, public_jwk, sealed, created_at, created_at, retired_at, remove_after FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_v2 RENAME TO signing_keys;
-- At most one key without an end: the newest, which signs until a successor replaces it.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (retired_at IS NULL) WHERE retired_at IS NULL;
