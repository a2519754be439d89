-- The states of an assignment, named once (issue 14). verval/assignments.py holds the same sets as Python
-- tuples; a test checks that both agree. Earlier migrations wrote the lists out and stay as they were.
--   active:    the assignment is open: the RT or family is taken (one active visit assignment at a time);
--   visitable: its verifier may record a visit for it now;
--   live:      it still counts (not declined or cancelled): approved work counts as covered.

CREATE FUNCTION peta_assignment_active(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('assigned', 'in_progress', 'submitted', 'returned');

CREATE FUNCTION peta_assignment_visitable(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('assigned', 'in_progress', 'returned');

CREATE FUNCTION peta_assignment_live(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status NOT IN ('declined', 'cancelled');

-- What the spatial data layer may know of the workflow: which families and RTs a verifier holds open now.
CREATE VIEW open_assignment AS
    SELECT id, campaign_id, kind, verifier_id, rt_code, household_id, status
    FROM assignment
    WHERE peta_assignment_active(status);

CREATE OR REPLACE FUNCTION peta_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind <> 'visit' OR NOT peta_assignment_active(NEW.status) THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('assignment:' || NEW.campaign_id || ':' || NEW.rt_code, 0));
    IF EXISTS (
        SELECT 1 FROM open_assignment a
        WHERE a.campaign_id = NEW.campaign_id AND a.rt_code = NEW.rt_code AND a.id <> NEW.id AND a.kind = 'visit'
          AND (a.household_id IS NULL OR NEW.household_id IS NULL OR a.household_id = NEW.household_id)
    ) THEN
        RAISE EXCEPTION 'RT % already has an active assignment in campaign %', NEW.rt_code, NEW.campaign_id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;

DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
        GRANT SELECT ON open_assignment TO peta_app;
    END IF;
END $$;
