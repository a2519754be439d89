-- The schema distributed on Citus by kab/kota (issue 16). Applied by migration 0027 only when the database has the
-- citus extension (`peta db up --citus N`, or DATABASE_URL at a Citus coordinator); on plain PostgreSQL nothing.
--
-- * Reference tables (a copy on every node, joined locally by any shard): every table without a kab/kota key (the
--   areas and their versions, people, sessions, keys, logins, settings) and the campaigns. Small, read by every
--   request, written rarely.
-- * Distributed by `kota_code`, all co-located (one kab/kota's rows of every table in one shard group, on one
--   worker): the families and everything hanging off them, their figures and keys, the audit log and its heads,
--   the data versions. Keys and foreign keys between them include kota_code (migrations 0019, 0023, 0026).
-- * Statement triggers of distributed tables run on the worker, per shard, inside the writing transaction: the
--   refresh of the figures (0026: every statement names its kab/kota), the audit rows (0023: in the family's
--   chain), the single-active-assignment guard (its advisory lock and check are the shard's own), the version
--   history. Triggers of reference tables would run on every node's copy: they carry WHEN (peta_on_coordinator())
--   and run once, on the coordinator, which may reach every shard.
-- * The data version is one row per kab/kota (and the deployment's, ''), bumped after each statement by the
--   kab/kota it wrote; the version the API reads is their sum.
-- Triggers and foreign keys are taken off while the rows move to the shards (the copy runs on the workers'
-- sessions, where the audit chain trigger would rewrite them) and put back as they were.

SET LOCAL citus.enable_unsafe_triggers = on;
SET LOCAL citus.multi_shard_modify_mode = 'sequential';
-- for every session from now on: triggers on distributed tables (later migrations add some), and a writing
-- transaction's statements over several shards on one connection per worker, as Citus asks of transactions that
-- also write reference tables with foreign keys to them (one kab/kota's statements reach one shard anyway)
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
    EXECUTE format('ALTER DATABASE %I SET citus.multi_shard_modify_mode = %L', current_database(), 'sequential');
    -- the settings functions called inside a shard's query (peta_cfg, peta_poverty_rate, peta_local_programs,
    -- peta_desil_group, ...) read reference tables only, which every node holds whole: their nested reads are
    -- local and exact, which is what Citus asks to be told before it runs them
    EXECUTE format('ALTER DATABASE %I SET citus.allow_nested_distributed_execution = on', current_database());
END $$;

-- one data version per kab/kota
ALTER TABLE data_version ADD COLUMN kota_code text NOT NULL DEFAULT '';
ALTER TABLE data_version DROP CONSTRAINT data_version_pkey, ADD PRIMARY KEY (name, kota_code);

CREATE FUNCTION peta_data_version_bump_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    kotas text[];
    k text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        kotas := ARRAY(SELECT DISTINCT kota_code FROM old_rows);
    ELSE
        kotas := ARRAY(SELECT DISTINCT kota_code FROM new_rows);
    END IF;
    FOREACH k IN ARRAY kotas LOOP  -- one VALUES row each: routed to the shard at hand (a SELECT would not be)
        INSERT INTO data_version AS d (name, kota_code, version, bumped_by, bumped_at)
        VALUES (TG_ARGV[0], k, 1, pg_current_xact_id(), now())
        ON CONFLICT (name, kota_code) DO UPDATE
            SET version = d.version + 1, bumped_by = EXCLUDED.bumped_by, bumped_at = EXCLUDED.bumped_at
            WHERE d.bumped_by <> EXCLUDED.bumped_by;
    END LOOP;
    RETURN NULL;
END $$;

-- a change of what belongs to no kab/kota (areas, settings): every kab/kota's version, from the coordinator
CREATE OR REPLACE FUNCTION peta_data_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE data_version SET version = version + 1, bumped_by = pg_current_xact_id(), bumped_at = now()
    WHERE name = TG_ARGV[0] AND bumped_by <> pg_current_xact_id();
    RETURN NULL;
END $$;

DO $$
DECLARE
    -- the campaigns (a kab/kota's, but read by every shard's rows through campaign_id) and every table without a
    -- kab/kota key (areas, people, sessions, keys, logins, settings, programmes' rosters); alembic's own and
    -- PostGIS's stay on the coordinator
    reference text[] := ARRAY['campaign'] || ARRAY(
        SELECT c.relname::text FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
          AND c.relname NOT IN ('alembic_version', 'spatial_ref_sys')
          AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'kota_code')
        ORDER BY c.relname);
    distributed text[];
    t text;
    r record;
    e record;
BEGIN
    -- every other table with a kab/kota key, the families first (the others are co-located with them)
    distributed := ARRAY['household'] || ARRAY(
        SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'kota_code'
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> 'household'
          AND NOT c.relname = ANY (reference)
        ORDER BY c.relname);
    CREATE TEMP TABLE peta_fk ON COMMIT DROP AS
        SELECT conrelid::regclass::text AS tbl, conname::text, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE contype = 'f' AND connamespace = 'public'::regnamespace;
    CREATE TEMP TABLE peta_trigger ON COMMIT DROP AS
        SELECT tgrelid::regclass::text AS tbl, tgname::text, pg_get_triggerdef(oid) AS def FROM pg_trigger
        WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY (reference || distributed);
    FOR r IN SELECT * FROM peta_fk LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    FOR r IN SELECT * FROM peta_trigger LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, r.tbl);
    END LOOP;

    FOREACH t IN ARRAY reference LOOP
        PERFORM create_reference_table(t);
    END LOOP;
    PERFORM create_distributed_table('household', 'kota_code');
    FOREACH t IN ARRAY distributed[2:] LOOP
        PERFORM create_distributed_table(t, 'kota_code', colocate_with => 'household');
    END LOOP;

    FOR r IN SELECT * FROM peta_fk LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def);
    END LOOP;
    FOR r IN SELECT * FROM peta_trigger LOOP
        IF r.tbl = ANY (reference) THEN  -- once, on the coordinator
            EXECUTE replace(r.def, ' EXECUTE FUNCTION ', ' WHEN (peta_on_coordinator()) EXECUTE FUNCTION ');
        ELSIF r.tgname = 'data_version_bump' THEN  -- by the kab/kota written (a TRUNCATE of a shard: none)
            FOR e IN SELECT * FROM (VALUES ('insert', 'NEW TABLE AS new_rows'), ('update', 'NEW TABLE AS new_rows'),
                                           ('delete', 'OLD TABLE AS old_rows')) v (op, ref) LOOP
                EXECUTE format('CREATE TRIGGER data_version_bump_%1$s AFTER %1$s ON %2$I REFERENCING %3$s'
                               ' FOR EACH STATEMENT EXECUTE FUNCTION peta_data_version_bump_rows(%4$L)',
                               e.op, r.tbl, e.ref, 'public');
            END LOOP;
        ELSE
            EXECUTE r.def;
        END IF;
    END LOOP;

    -- every function of the schema on every node (the shards' triggers call them there)
    FOR r IN SELECT p.oid::regprocedure::text AS f FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'peta%' AND p.prokind = 'f' LOOP
        PERFORM create_distributed_function(r.f::regprocedure);
    END LOOP;
END $$;

-- one city's audit chain is sealed on its worker, in one task
SELECT create_distributed_function('peta_audit_seal_chain(text, integer)', 'chain', colocate_with := 'household');
