-- A data version for the public layers and figures (issue 13): the API keeps their response bodies in
-- memory keyed by this version, so it must change in the very transaction that changes what they show.
--
-- One row per dataset ('public': areas and their figures, published or exact, and the families behind
-- the filtered figures). Every statement that writes one of the tables behind those responses bumps it
-- from a BEFORE STATEMENT trigger, in the writing transaction: a reader sees the new version exactly
-- when it sees the new data (a sequence would not do: its values are visible before the commit, so a
-- reader could cache old rows under a new number). BEFORE, not AFTER, so that the row lock on the
-- version is the first lock every writer of these tables takes: writers already serialise on the
-- city-level figure rows, and taking this lock first (rather than between two figure rows) cannot
-- make a lock-order cycle with them. A transaction bumps once: later statements see their own xid in
-- `bumped_by` and skip the update.
-- The token the API uses is version and bumped_by together: the xid of the bumping transaction never
-- repeats in a cluster, so a restored or recreated database does not reuse a (version, xid) pair that a
-- running process may still hold.
CREATE TABLE data_version (
    name text PRIMARY KEY,
    version bigint NOT NULL,
    bumped_by xid8 NOT NULL,
    bumped_at timestamptz NOT NULL
);
INSERT INTO data_version VALUES ('public', 1, pg_current_xact_id(), now());

CREATE FUNCTION peta_data_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE data_version SET version = version + 1, bumped_by = pg_current_xact_id(), bumped_at = now()
    WHERE name = TG_ARGV[0] AND bumped_by <> pg_current_xact_id();
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['area', 'area_stats', 'area_stats_public', 'household', 'household_rank', 'peta_config']
    LOOP
        EXECUTE format('CREATE TRIGGER data_version_bump BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION peta_data_version_bump(%L)', t, 'public');
    END LOOP;
END $$;

-- The application reads the version and nothing else: only the (definer) trigger writes it, so no
-- caller can set it back to a value whose bodies some process still holds.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
        REVOKE ALL ON data_version FROM peta_app;
        GRANT SELECT ON data_version TO peta_app;
    END IF;
END $$;
