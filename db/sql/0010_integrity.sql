-- Integrity (issue 12): an unambiguous hash encoding for the audit chain, key bookkeeping kept out of
-- the audit, an atomic login throttle per (username, address), and the application role cut down to
-- what the served application does. Applied by migration 0010.

-- 1. The audit chain's hash encoding, version 2.
-- Version 1 (0004) hashed concat_ws('|', ...): NULLs vanished and a '|' or ',' inside a value moved the
-- field boundaries, so two different rows could hash alike (role NULL and action 'b|c' is role 'b' and
-- action 'c'). Version 2 writes every field as N (NULL) or S<bytes>:<text>, and the object ids as
-- A<count>:<fields>: a prefix-free code, so different rows give different inputs. gis/audit.py computes
-- the same bytes in Python; `peta audit verify` checks each row with its own version.
-- Existing rows keep version 1 and their hashes (nothing is re-chained): re-hashing them would launder
-- whatever was changed before. From here on the chain trigger writes version 2 only.
ALTER TABLE audit_log ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));
ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 2;
-- the encoding counts the ids of one dimension; a nested array would read like a flat one
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_ids_flat
    CHECK (array_ndims(object_ids) IS NULL OR array_ndims(object_ids) = 1);

CREATE FUNCTION peta_audit_field(x text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN x IS NULL THEN 'N' ELSE 'S' || octet_length(convert_to(x, 'UTF8')) || ':' || x END
$$;

CREATE FUNCTION peta_audit_digest_v2(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        'peta-audit-v2'
        || peta_audit_field(prev)
        || peta_audit_field(r.id::text)
        || peta_audit_field(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || peta_audit_field(r.actor)
        || peta_audit_field(r.role)
        || peta_audit_field(r.action)
        || peta_audit_field(r.object_type)
        || CASE WHEN r.object_ids IS NULL THEN 'N'
                ELSE 'A' || cardinality(r.object_ids) || ':'
                     || COALESCE((SELECT string_agg(peta_audit_field(e), '' ORDER BY n)
                                  FROM unnest(r.object_ids) WITH ORDINALITY AS u (e, n)), '') END
        || peta_audit_field(r.before::text)
        || peta_audit_field(r.after::text)
        || peta_audit_field(r.reason), 'UTF8')), 'hex')
$$;

-- As in 0004/0005, with the version written by the trigger alone (an inserted 1 is overwritten).
CREATE OR REPLACE FUNCTION peta_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('peta_audit_log'));
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.hash_version := 2;
    NEW.prev_hash := COALESCE((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64));
    NEW.hash := peta_audit_digest_v2(NEW.prev_hash, NEW);
    INSERT INTO audit_head (id, hash) VALUES (NEW.id, NEW.hash)
        ON CONFLICT (one) DO UPDATE SET id = EXCLUDED.id, hash = EXCLUDED.hash;
    RETURN NEW;
END $$;

-- 2. Bookkeeping columns are not audited. TG_ARGV[2], when given, names columns whose change alone
-- is not worth an audit row (an agency key's last_used_at is written on every request): a statement
-- that changes nothing else in any row writes no row. Creation, revocation and scope changes of keys
-- still do.
CREATE OR REPLACE FUNCTION peta_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
    changed boolean := true;
BEGIN
    IF TG_NARGS > 2 THEN
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM new_rows n LEFT JOIN old_rows o ON o.%1$I = n.%1$I'
            ' WHERE o.%1$I IS NULL OR (to_jsonb(n) - $1) IS DISTINCT FROM (to_jsonb(o) - $1))', TG_ARGV[1])
            USING TG_ARGV[2]::text[] INTO changed;
    END IF;
    IF NOT changed THEN
        RETURN NULL;
    END IF;
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

DROP TRIGGER audit_update ON api_key;
CREATE TRIGGER audit_update AFTER UPDATE ON api_key REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_update('api_key', 'prefix', '{last_used_at}');

-- 3. Login throttling per (username, client address), taken atomically: an attempt first takes a slot
-- (one upsert, serialised on the row), and only the first five slots of a window are evaluated.
-- A success clears the pair's slots. Failures from one address never lock the account for another.
CREATE TABLE login_throttle (
    username text NOT NULL,
    client text NOT NULL,
    attempts integer NOT NULL,
    window_start timestamptz NOT NULL,
    PRIMARY KEY (username, client)
);

-- 4. The application role: what the served application (api/, portal/) does, and nothing else.
-- Before this, peta_app could write every table: `UPDATE app_user SET role = 'admin'`, new keys, new
-- users, rewritten areas. Users, keys, areas, imports and settings change only through `peta` (the
-- migration role). Derived tables (ranks, figures) are written by the refresh triggers that an approved
-- visit sets off in the application's own transaction, so it keeps those.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM peta_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM peta_app;
GRANT SELECT ON alembic_version, peta_config, area, app_user, campaign_target, assignment_event TO peta_app;
GRANT SELECT ON household, household_version, household_rank, area_stats, area_stats_public, area_figures TO peta_app;
GRANT SELECT ON api_key, auth_session, campaign, assignment, verification, verification_photo TO peta_app;
-- the audit trail: append only, and not read back (its before/after images hold every user and key)
GRANT INSERT ON audit_log TO peta_app;
-- sessions: opened and ended (never moved to another user or prolonged)
GRANT INSERT, UPDATE (revoked_at) ON auth_session TO peta_app;
-- agency keys: only when each was last used
GRANT UPDATE (last_used_at) ON api_key TO peta_app;
GRANT INSERT ON login_attempt TO peta_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO peta_app;
-- the verval workflow
GRANT INSERT ON campaign, campaign_target, assignment_event, verification_photo TO peta_app;
GRANT INSERT, UPDATE (status, reason, updated_at) ON assignment TO peta_app;
GRANT INSERT, UPDATE (flags, status, decided_by, decided_at, decision_reason) ON verification TO peta_app;
-- an approved visit updates the family's record (its version kept by the history trigger), and the
-- refresh that follows rewrites ranks and figures
GRANT UPDATE (hasil_verval, tgl_verval, jumlah_anggota, k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12,
              k13, k14, version, updated_at) ON household TO peta_app;
GRANT INSERT ON household_version TO peta_app;
GRANT INSERT, UPDATE, DELETE ON household_rank, area_stats, area_stats_public TO peta_app;
GRANT USAGE ON SEQUENCE auth_session_id_seq, login_attempt_id_seq, campaign_id_seq, assignment_id_seq,
    assignment_event_id_seq, verification_id_seq, household_version_id_seq TO peta_app;
