-- Verification campaigns: a named round with its target families, and assignments of RTs (or single
-- families) to verifiers, with a status history. The database itself guarantees one active assignment
-- per RT (or family) per campaign: two coordinators assigning the same RT at once, exactly one wins.

-- A verifier's own family (keyed hash of their KK number, as in household.kk_hash): a visit to it is flagged.
ALTER TABLE app_user ADD COLUMN kk_hash text;

CREATE TABLE campaign (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    target_kind text NOT NULL CHECK (target_kind IN ('desil', 'category', 'prelist')),
    desil_min smallint CHECK (desil_min BETWEEN 1 AND 10),
    desil_max smallint CHECK (desil_max BETWEEN 1 AND 10),
    categories text[],
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    cutoff_day smallint NOT NULL DEFAULT 17 CHECK (cutoff_day BETWEEN 1 AND 28),  -- the national monthly cut-off
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on),
    CHECK (target_kind <> 'desil' OR (desil_min IS NOT NULL AND desil_max IS NOT NULL AND desil_min <= desil_max)),
    CHECK (target_kind <> 'category' OR cardinality(categories) > 0)
);

-- The families a campaign must verify, fixed when the campaign is created (or its prelist imported).
CREATE TABLE campaign_target (
    campaign_id bigint NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    household_id bigint NOT NULL REFERENCES household (id) ON DELETE CASCADE,
    rt_code text NOT NULL,
    PRIMARY KEY (campaign_id, household_id)
);
CREATE INDEX campaign_target_rt_idx ON campaign_target (campaign_id, rt_code);

CREATE TABLE assignment (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    rt_code text NOT NULL REFERENCES area (code),
    household_id bigint REFERENCES household (id),  -- NULL: the whole RT
    verifier_id bigint NOT NULL REFERENCES app_user (id),
    assigned_by text NOT NULL,
    due_on date NOT NULL,
    status text NOT NULL DEFAULT 'assigned'
        CHECK (status IN ('assigned', 'in_progress', 'submitted', 'approved', 'returned', 'declined', 'cancelled')),
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- active = not yet approved, declined or cancelled
CREATE UNIQUE INDEX assignment_one_active_rt ON assignment (campaign_id, rt_code)
    WHERE household_id IS NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_active_family ON assignment (campaign_id, household_id)
    WHERE household_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE INDEX assignment_verifier_idx ON assignment (verifier_id, status);

CREATE TABLE assignment_event (
    id bigserial PRIMARY KEY,
    assignment_id bigint NOT NULL REFERENCES assignment (id) ON DELETE CASCADE,
    status text NOT NULL,
    reason text,
    actor text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignment_event_idx ON assignment_event (assignment_id, id);

-- A whole-RT assignment and a single family of the same RT overlap: serialise assignments per
-- (campaign, RT) and refuse an overlapping active one as a unique violation (the API's 409).
CREATE FUNCTION peta_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN ('assigned', 'in_progress', 'submitted', 'returned') THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('assignment:' || NEW.campaign_id || ':' || NEW.rt_code, 0));
    IF EXISTS (
        SELECT 1 FROM assignment a
        WHERE a.campaign_id = NEW.campaign_id AND a.rt_code = NEW.rt_code AND a.id <> NEW.id
          AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned')
          AND (a.household_id IS NULL OR NEW.household_id IS NULL OR a.household_id = NEW.household_id)
    ) THEN
        RAISE EXCEPTION 'RT % already has an active assignment in campaign %', NEW.rt_code, NEW.campaign_id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER assignment_guard BEFORE INSERT OR UPDATE OF status ON assignment
    FOR EACH ROW EXECUTE FUNCTION peta_assignment_guard();

-- Every status, with who set it and why.
CREATE FUNCTION peta_assignment_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO assignment_event (assignment_id, status, reason, actor)
        VALUES (NEW.id, NEW.status, NEW.reason,
                COALESCE(NULLIF(current_setting('peta.actor', true), ''), 'db:' || current_user));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER assignment_event AFTER INSERT OR UPDATE OF status ON assignment
    FOR EACH ROW EXECUTE FUNCTION peta_assignment_event();

-- Field results, one per visit. `client_id` is generated on the phone: a batch sent again after a
-- lost connection inserts nothing twice. Objectivity flags are computed on arrival and kept with it.
CREATE TABLE verification (
    id bigserial PRIMARY KEY,
    client_id uuid NOT NULL UNIQUE,
    campaign_id bigint NOT NULL REFERENCES campaign (id),
    assignment_id bigint REFERENCES assignment (id),
    household_id bigint NOT NULL REFERENCES household (id),
    verifier_id bigint NOT NULL REFERENCES app_user (id),
    -- 1 verified, 2 not found, 3 moved or gone, 4 part of another family, 5 duplicate, 6 deceased, 7 not eligible
    result_code smallint NOT NULL CHECK (result_code BETWEEN 1 AND 7),
    jumlah_anggota smallint CHECK (jumlah_anggota BETWEEN 1 AND 30),
    criteria boolean[] CHECK (criteria IS NULL OR cardinality(criteria) = 14),
    visit_geom geometry(Point, 4326),
    accuracy_m real CHECK (accuracy_m >= 0),
    visited_at timestamptz NOT NULL,
    photo_sha256 text CHECK (photo_sha256 ~ '^[0-9a-f]{64}$'),
    notes text CHECK (length(notes) <= 2000),
    flags jsonb NOT NULL DEFAULT '[]',
    status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved', 'returned')),
    decided_by text,
    decided_at timestamptz,
    decision_reason text,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_verifier_idx ON verification (verifier_id, visited_at);
CREATE INDEX verification_campaign_idx ON verification (campaign_id, household_id);
