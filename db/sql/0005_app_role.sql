-- The least-privilege role the application connects as: no superuser, no DDL, no rewriting history.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
        -- roles belong to the whole server: two databases migrated at once (a parallel test run, two
        -- deployments on one server) may both get here; the second waits for the first and finds the role
        BEGIN
            CREATE ROLE peta_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO peta_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO peta_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO peta_app;
-- the audit trail: append only; its head is kept by the (definer) chain trigger alone
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM peta_app;
REVOKE ALL ON audit_head FROM peta_app;
REVOKE USAGE, SELECT ON SEQUENCE audit_log_id_seq FROM peta_app;
-- settings and the schema version change only through the administrator's commands
REVOKE INSERT, UPDATE, DELETE ON peta_config, alembic_version, spatial_ref_sys FROM peta_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO peta_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO peta_app;

-- the chain trigger runs with its owner's rights, so the application can append but never touch the head
ALTER FUNCTION peta_audit_chain() SECURITY DEFINER SET search_path = public, pg_temp;
