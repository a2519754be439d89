-- One audit chain per kab/kota, plus the deployment's own chain (issue 16). Applied by migration 0023.
--
-- Before: one chain for the whole deployment, sealed in id order by one sealer. With many kab/kota in one
-- database that chain is one serial point, and on Citus it cannot work: the rows about a family are written
-- by the triggers of the family's shard, on the worker that holds it, and a shard's trigger can only write
-- rows of the same shard group.
-- Now: every audit row names its chain, `kota_code`: the kab/kota of what it records (families, their
-- versions, targets, assignments, visits, photos, campaigns, and the reads and exports of them), or '' for
-- what belongs to no kab/kota (users, keys, settings, boundaries: the deployment's chain). Each chain has
-- its own positions (seq from 1), its own head (audit_head, one row per chain) and is sealed on its own,
-- under its own lock, so two cities never wait on each other's seal. The rows already chained stay in the
-- deployment's chain with their hashes; new rows are sealed with encoding 4 (encoding 3 with the chain's
-- code after the position: a row cannot be moved to another chain unnoticed). `kota_code` is the column
-- Citus distributes the log by (a later migration), beside the families it records.

ALTER TABLE audit_log ADD COLUMN kota_code text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD CONSTRAINT audit_log_kota_code_form CHECK (kota_code = '' OR kota_code ~ '^[0-9]{2}\.[0-9]{2}$');
ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_version_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_version_check CHECK (hash_version IN (1, 2, 3, 4));
ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 4;
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (id, kota_code);
DROP INDEX audit_log_seq;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (kota_code, seq);
DROP INDEX audit_log_unsealed;
CREATE INDEX audit_log_unsealed ON audit_log (kota_code, id) WHERE seq IS NULL;

ALTER TABLE audit_head ADD COLUMN kota_code text NOT NULL DEFAULT '';
ALTER TABLE audit_head DROP CONSTRAINT audit_head_pkey;
ALTER TABLE audit_head DROP COLUMN one;
ALTER TABLE audit_head ADD PRIMARY KEY (kota_code);

-- Encoding 4: encoding 3 with the chain's code after the position.
CREATE FUNCTION peta_audit_digest_v4(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        'peta-audit-v4'
        || peta_audit_field(prev)
        || peta_audit_field(r.seq::text)
        || peta_audit_field(r.kota_code)
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

CREATE OR REPLACE FUNCTION peta_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.id := nextval('audit_log_id_seq');
    NEW.at := clock_timestamp();
    NEW.hash_version := 4;
    NEW.kota_code := COALESCE(NEW.kota_code, '');
    NEW.seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    RETURN NEW;
END $$;

-- Sealing an unsealed row sets only the chain fields; its chain is part of its content.
CREATE OR REPLACE FUNCTION peta_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (OLD.id, OLD.kota_code, OLD.at, OLD.actor, OLD.role, OLD.action, OLD.object_type, OLD.object_ids,
            OLD.before::text, OLD.after::text, OLD.reason, OLD.hash_version)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.kota_code, NEW.at, NEW.actor, NEW.role, NEW.action, NEW.object_type, NEW.object_ids,
            NEW.before::text, NEW.after::text, NEW.reason, NEW.hash_version) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END $$;

-- One chain sealed: its committed unsealed rows in id order, under the chain's own lock (another sealer of
-- the same chain at work makes this one return 0). Rows written before 0023 keep encoding 3.
CREATE FUNCTION peta_audit_seal_chain(chain text, max_rows integer) RETURNS integer
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
    IF NOT pg_try_advisory_xact_lock(hashtext('peta_audit_seal:' || chain)) THEN
        RETURN 0;
    END IF;
    SELECT seq, hash, id INTO head_seq, head_hash, head_id FROM audit_head WHERE kota_code = chain;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR r IN SELECT * FROM audit_log WHERE kota_code = chain AND seq IS NULL ORDER BY id LIMIT max_rows LOOP
        head_seq := head_seq + 1;
        r.seq := head_seq;
        r.prev_hash := head_hash;
        head_hash := CASE WHEN r.hash_version = 4 THEN peta_audit_digest_v4(r.prev_hash, r)
                          ELSE peta_audit_digest_v3(r.prev_hash, r) END;
        UPDATE audit_log SET seq = r.seq, prev_hash = r.prev_hash, hash = head_hash
        WHERE kota_code = chain AND id = r.id;
        head_id := r.id;
        sealed := sealed + 1;
    END LOOP;
    IF sealed > 0 THEN
        INSERT INTO audit_head (kota_code, id, hash, seq) VALUES (chain, head_id, head_hash, head_seq)
            ON CONFLICT (kota_code) DO UPDATE SET id = EXCLUDED.id, hash = EXCLUDED.hash, seq = EXCLUDED.seq;
    END IF;
    RETURN sealed;
END $$;

-- Every chain with unsealed rows, each up to max_rows; the number sealed in all.
CREATE OR REPLACE FUNCTION peta_audit_seal(max_rows integer DEFAULT 10000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    chain text;
    sealed integer := 0;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'peta_audit_seal must run in a READ COMMITTED transaction';
    END IF;
    FOR chain IN SELECT DISTINCT kota_code FROM audit_log WHERE seq IS NULL ORDER BY 1 LOOP
        sealed := sealed + peta_audit_seal_chain(chain, max_rows);
    END LOOP;
    RETURN sealed;
END $$;

-- One audit row in the chain `kota` ('' or NULL: the deployment's). The images are made before the INSERT,
-- which is a plain VALUES row (Citus routes that to the chain's shard; it refuses subqueries in it).
CREATE FUNCTION peta_audit_write(kota text, kind text, action text, ids text[], old_rows jsonb, new_rows jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    secret text[] := ARRAY['password_hash', 'key_hash', 'token_hash'];
    before jsonb := (SELECT jsonb_agg(e - secret) FROM jsonb_array_elements(old_rows) e);
    after jsonb := CASE WHEN new_rows IS NULL AND old_rows IS NULL
                        THEN jsonb_build_object('rows', cardinality(ids),
                                                'note', 'bulk change: previous states are in the version tables')
                        ELSE (SELECT jsonb_agg(e - secret) FROM jsonb_array_elements(new_rows) e) END;
    actor text := COALESCE(NULLIF(current_setting('peta.actor', true), ''), 'db:' || current_user);
    role text := NULLIF(current_setting('peta.role', true), '');
    reason text := NULLIF(current_setting('peta.reason', true), '');
BEGIN
    INSERT INTO audit_log (id, kota_code, actor, role, action, object_type, object_ids, before, after, reason,
                           prev_hash, hash)
    VALUES (0, COALESCE(kota, ''), actor, role, action, kind, ids, before, after, reason, '', '');
END $$;

CREATE OR REPLACE FUNCTION peta_audit_write(kind text, action text, ids text[], old_rows jsonb, new_rows jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_audit_write('', kind, action, ids, old_rows, new_rows);
END $$;

-- The expression naming a transition row's chain: its kab/kota code when the trigger's table has one, else ''
-- (the deployment's chain).
CREATE FUNCTION peta_audit_chain_of(rel oid, alias text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT quote_ident(alias) || '.kota_code' FROM pg_attribute
                     WHERE attrelid = rel AND attname = 'kota_code' AND NOT attisdropped), '''''')
$$;

-- The images of a statement's rows are kept up to 100 rows per chain; above that the ids only.
CREATE OR REPLACE FUNCTION peta_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kota text := peta_audit_chain_of(TG_RELID, 'n');
    chain record;
    images jsonb;
BEGIN
    FOR chain IN EXECUTE format('SELECT %s AS kota, array_agg(n.%I::text) AS ids FROM new_rows n GROUP BY 1 ORDER BY 1',
                                kota, TG_ARGV[1]) LOOP
        images := NULL;
        IF cardinality(chain.ids) <= 100 THEN
            EXECUTE format('SELECT jsonb_agg(to_jsonb(n)) FROM new_rows n WHERE %s = $1', kota) INTO images USING chain.kota;
        END IF;
        PERFORM peta_audit_write(chain.kota, TG_ARGV[0], 'insert', chain.ids, NULL, images);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION peta_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kota text := peta_audit_chain_of(TG_RELID, 'o');
    chain record;
    images jsonb;
BEGIN
    FOR chain IN EXECUTE format('SELECT %s AS kota, array_agg(o.%I::text) AS ids FROM old_rows o GROUP BY 1 ORDER BY 1',
                                kota, TG_ARGV[1]) LOOP
        images := NULL;
        IF cardinality(chain.ids) <= 100 THEN
            EXECUTE format('SELECT jsonb_agg(to_jsonb(o)) FROM old_rows o WHERE %s = $1', kota) INTO images USING chain.kota;
        END IF;
        PERFORM peta_audit_write(chain.kota, TG_ARGV[0], 'delete', chain.ids, images, NULL);
    END LOOP;
    RETURN NULL;
END $$;

-- An update: with a list of ignored columns (TG_ARGV[2]), only the rows changed beyond them are recorded.
CREATE OR REPLACE FUNCTION peta_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kota text := peta_audit_chain_of(TG_RELID, 'n');
    ignored text[] := CASE WHEN TG_NARGS > 2 THEN TG_ARGV[2]::text[] END;
    changed text := CASE WHEN TG_NARGS > 2 THEN format(
        ' LEFT JOIN old_rows o ON o.%1$I = n.%1$I WHERE o.%1$I IS NULL OR (to_jsonb(n) - $1) IS DISTINCT FROM (to_jsonb(o) - $1)',
        TG_ARGV[1]) ELSE '' END;
    chain record;
    before jsonb;
    after jsonb;
BEGIN
    FOR chain IN EXECUTE format('SELECT %s AS kota, array_agg(n.%I::text) AS ids FROM new_rows n%s GROUP BY 1 ORDER BY 1',
                                kota, TG_ARGV[1], changed) USING ignored LOOP
        before := NULL;
        after := NULL;
        IF cardinality(chain.ids) <= 100 THEN
            EXECUTE format('SELECT jsonb_agg(to_jsonb(o)) FROM old_rows o WHERE o.%I::text = ANY ($1)', TG_ARGV[1])
                INTO before USING chain.ids;
            EXECUTE format('SELECT jsonb_agg(to_jsonb(n)) FROM new_rows n WHERE n.%I::text = ANY ($1)', TG_ARGV[1])
                INTO after USING chain.ids;
        END IF;
        PERFORM peta_audit_write(chain.kota, TG_ARGV[0], 'update', chain.ids, before, after);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION peta_audit_photo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_audit_write(NEW.kota_code, 'verification_photo', 'insert',
        ARRAY[NEW.verification_id || ':' || NEW.sha256], NULL, jsonb_build_array(to_jsonb(NEW) - 'data'));
    RETURN NULL;
END $$;
