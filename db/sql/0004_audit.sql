-- The audit trail: append-only, hash-chained, written by triggers in the same transaction as the change.
-- Who acts is set per transaction with set_config('peta.actor' / 'peta.role' / 'peta.reason', ..., true).

CREATE SEQUENCE audit_log_id_seq;
CREATE TABLE audit_log (
    id bigint PRIMARY KEY,  -- drawn inside the chain lock, so id order is chain order
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    role text,
    action text NOT NULL,
    object_type text NOT NULL,
    object_ids text[] NOT NULL DEFAULT '{}',
    before jsonb,
    after jsonb,
    reason text,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

-- The head of the chain, so that removing the newest rows is detected too.
CREATE TABLE audit_head (one boolean PRIMARY KEY DEFAULT true CHECK (one), id bigint NOT NULL, hash text NOT NULL);

-- The canonical text a row's hash covers (and what `peta audit verify` recomputes).
CREATE FUNCTION peta_audit_digest(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|', prev, r.id, to_char(r.at AT TIME ZONE 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS.US'), r.actor, r.role, r.action, r.object_type, array_to_string(r.object_ids, ','),
        r.before::text, r.after::text, r.reason), 'UTF8')), 'hex')
$$;

-- Chain each new row to the previous one; one writer at a time, so ids and links agree.
CREATE FUNCTION peta_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('peta_audit_log'));
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.prev_hash := COALESCE((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64));
    NEW.hash := peta_audit_digest(NEW.prev_hash, NEW);
    INSERT INTO audit_head (id, hash) VALUES (NEW.id, NEW.hash)
        ON CONFLICT (one) DO UPDATE SET id = EXCLUDED.id, hash = EXCLUDED.hash;
    RETURN NEW;
END $$;

CREATE FUNCTION peta_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER audit_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION peta_audit_chain();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION peta_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_append_only();

-- Record one statement's changes: small statements row by row with before and after; large ones
-- (imports) as the list of ids, their previous states being kept in the *_version tables.
CREATE FUNCTION peta_audit_write(kind text, action text, ids text[], old_rows jsonb, new_rows jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    secret text[] := ARRAY['password_hash', 'key_hash', 'token_hash'];
BEGIN
    INSERT INTO audit_log (id, actor, role, action, object_type, object_ids, before, after, reason, prev_hash, hash)
    VALUES (0,
        COALESCE(NULLIF(current_setting('peta.actor', true), ''), 'db:' || current_user),
        NULLIF(current_setting('peta.role', true), ''),
        action, kind, ids,
        (SELECT jsonb_agg(e - secret) FROM jsonb_array_elements(old_rows) e),
        CASE WHEN new_rows IS NULL AND old_rows IS NULL
             THEN jsonb_build_object('rows', cardinality(ids),
                                     'note', 'bulk change: previous states are in the version tables')
             ELSE (SELECT jsonb_agg(e - secret) FROM jsonb_array_elements(new_rows) e) END,
        NULLIF(current_setting('peta.reason', true), ''),
        '', '');
END $$;

-- Statement triggers: TG_ARGV = (table, key column). Up to 100 rows keep full before/after images.
CREATE FUNCTION peta_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    EXECUTE format('SELECT array_agg(%I::text) FROM new_rows', TG_ARGV[1]) INTO ids;
    IF ids IS NOT NULL THEN
        PERFORM peta_audit_write(TG_ARGV[0], 'insert', ids, NULL,
            CASE WHEN cardinality(ids) <= 100 THEN (SELECT jsonb_agg(to_jsonb(n)) FROM new_rows n) END);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION peta_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    EXECUTE format('SELECT array_agg(%I::text) FROM new_rows', TG_ARGV[1]) INTO ids;
    IF ids IS NOT NULL THEN
        IF cardinality(ids) <= 100 THEN
            PERFORM peta_audit_write(TG_ARGV[0], 'update', ids, (SELECT jsonb_agg(to_jsonb(o)) FROM old_rows o),
                                     (SELECT jsonb_agg(to_jsonb(n)) FROM new_rows n));
        ELSE
            PERFORM peta_audit_write(TG_ARGV[0], 'update', ids, NULL, NULL);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION peta_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    EXECUTE format('SELECT array_agg(%I::text) FROM old_rows', TG_ARGV[1]) INTO ids;
    IF ids IS NOT NULL THEN
        PERFORM peta_audit_write(TG_ARGV[0], 'delete', ids,
            CASE WHEN cardinality(ids) <= 100 THEN (SELECT jsonb_agg(to_jsonb(o)) FROM old_rows o) END, NULL);
    END IF;
    RETURN NULL;
END $$;
