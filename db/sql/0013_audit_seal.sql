-- The audit chain sealed after the fact by one writer (issue 13). Applied by migration 0013.
--
-- Before: every audit row was chained as it was inserted, under one advisory lock held until the inserting
-- transaction ended. Every audited read of every user queued on that lock, for as long as the transaction
-- before it lasted (with the response sent in between: one export whose client stopped reading stalled
-- the whole service for 54 s).
-- Now: a row is inserted unsealed (no lock, no hash, nothing shared but the id sequence) in the same
-- transaction as what it records, so it commits with it or not at all. A sealer (peta_audit_seal, run
-- every second by the served application and before `peta audit verify` / `anchor`) takes the committed
-- unsealed rows in id order and chains them: each gets its position `seq`, the hash of the row before it
-- and its own hash (encoding 3: encoding 2 plus the position). Only the sealer holds a lock, only while it
-- seals, and never while anyone waits on a client. The chain's order is the sealing order; ids still
-- name rows. A row is unprotected by the chain only between its commit and the next seal (about a
-- second); it is append-only throughout (the trigger below), and the application role cannot update it.

ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN seq bigint;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_version_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_version_check CHECK (hash_version IN (1, 2, 3));
ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 3;
-- the rows chained so far keep their hashes; their position is their id (the order they were chained in)
ALTER TABLE audit_log DISABLE TRIGGER audit_append_only;
UPDATE audit_log SET seq = id;
ALTER TABLE audit_log ENABLE TRIGGER audit_append_only;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_sealed CHECK ((seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL));
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
ALTER TABLE audit_head ADD COLUMN seq bigint;
UPDATE audit_head SET seq = id;

-- Encoding 3: encoding 2's fields with the chain position after the previous hash.
CREATE FUNCTION peta_audit_digest_v3(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        'peta-audit-v3'
        || peta_audit_field(prev)
        || peta_audit_field(r.seq::text)
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

-- Insert: the id, the time and the encoding are the trigger's; the chain fields wait for the sealer.
-- No lock: concurrent writers and readers never wait on each other here.
CREATE OR REPLACE FUNCTION peta_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.hash_version := 3;
    NEW.seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    RETURN NEW;
END $$;

-- Append-only, with one exception: sealing an unsealed row (its content unchanged, only the chain fields
-- set). The application role has no UPDATE right on the table; the sealer is a definer function.
CREATE OR REPLACE FUNCTION peta_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (OLD.id, OLD.at, OLD.actor, OLD.role, OLD.action, OLD.object_type, OLD.object_ids, OLD.before::text,
            OLD.after::text, OLD.reason, OLD.hash_version)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.at, NEW.actor, NEW.role, NEW.action, NEW.object_type, NEW.object_ids, NEW.before::text,
            NEW.after::text, NEW.reason, NEW.hash_version) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;

-- Seal up to `max_rows` committed unsealed rows, in id order; returns how many. One sealer at a time: a
-- second one returns 0 at once instead of waiting. It must run in READ COMMITTED (each statement sees
-- the rows and the head committed before it): a REPEATABLE READ snapshot could see an old head and fork
-- the chain, so it refuses.
CREATE FUNCTION peta_audit_seal(max_rows integer DEFAULT 10000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    head_id bigint;
    r audit_log;
    sealed integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'peta_audit_seal must run in a READ COMMITTED transaction';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('peta_audit_seal')) THEN
        RETURN 0;
    END IF;
    SELECT seq, hash, id INTO head_seq, head_hash, head_id FROM audit_head;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR r IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT max_rows LOOP
        head_seq := head_seq + 1;
        r.seq := head_seq;
        r.prev_hash := head_hash;
        head_hash := peta_audit_digest_v3(r.prev_hash, r);
        UPDATE audit_log SET seq = r.seq, prev_hash = r.prev_hash, hash = head_hash WHERE id = r.id;
        head_id := r.id;
        sealed := sealed + 1;
    END LOOP;
    IF sealed > 0 THEN
        INSERT INTO audit_head (id, hash, seq) VALUES (head_id, head_hash, head_seq)
            ON CONFLICT (one) DO UPDATE SET id = EXCLUDED.id, hash = EXCLUDED.hash, seq = EXCLUDED.seq;
    END IF;
    RETURN sealed;
END $$;
