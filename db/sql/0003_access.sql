-- Identities: users with a role and an area scope, agency API keys, revocable sessions, login attempts.

CREATE TABLE app_user (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    full_name text,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'coordinator', 'verifier', 'planner')),
    scope_level text NOT NULL CHECK (scope_level IN ('kota', 'kecamatan', 'kelurahan', 'rt')),
    scope_codes text[] NOT NULL CHECK (cardinality(scope_codes) > 0),
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'verifier' OR scope_level = 'rt')
);

CREATE TABLE api_key (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    prefix text NOT NULL UNIQUE,
    key_hash text NOT NULL,
    scope_level text NOT NULL CHECK (scope_level IN ('kota', 'kecamatan', 'kelurahan')),
    scope_codes text[] NOT NULL CHECK (cardinality(scope_codes) > 0),
    -- an agreement lets this agency see household points, always geomasked (peta_geomask)
    points_agreement boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz
);

CREATE TABLE auth_session (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('bearer', 'cookie')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX auth_session_user_idx ON auth_session (user_id) WHERE revoked_at IS NULL;

CREATE TABLE login_attempt (
    id bigserial PRIMARY KEY,
    username text NOT NULL,
    client text,
    at timestamptz NOT NULL DEFAULT now(),
    ok boolean NOT NULL
);
CREATE INDEX login_attempt_user_idx ON login_attempt (username, at DESC);
