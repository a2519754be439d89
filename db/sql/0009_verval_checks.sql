-- Back-checks, the members and photos of a visit. A back-check is a second visit to a family already
-- visited in the campaign, by another verifier; it is an assignment of its own kind, outside the
-- one-active-per-RT rule (the RT is usually still assigned to the first verifier).

ALTER TABLE assignment
    ADD COLUMN kind text NOT NULL DEFAULT 'visit' CHECK (kind IN ('visit', 'backcheck')),
    ADD COLUMN backcheck_of bigint REFERENCES verification (id),
    ADD CONSTRAINT assignment_backcheck_target CHECK ((kind = 'backcheck') = (backcheck_of IS NOT NULL)),
    ADD CONSTRAINT assignment_backcheck_family CHECK (kind = 'visit' OR household_id IS NOT NULL);

DROP INDEX assignment_one_active_rt;
DROP INDEX assignment_one_active_family;
CREATE UNIQUE INDEX assignment_one_active_rt ON assignment (campaign_id, rt_code)
    WHERE kind = 'visit' AND household_id IS NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_active_family ON assignment (campaign_id, household_id)
    WHERE kind = 'visit' AND household_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
-- a visit is back-checked once (a declined or cancelled back-check may be drawn again)
CREATE UNIQUE INDEX assignment_one_backcheck ON assignment (backcheck_of)
    WHERE kind = 'backcheck' AND status NOT IN ('declined', 'cancelled');

CREATE OR REPLACE FUNCTION peta_assignment_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind <> 'visit' OR NEW.status NOT IN ('assigned', 'in_progress', 'submitted', 'returned') THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('assignment:' || NEW.campaign_id || ':' || NEW.rt_code, 0));
    IF EXISTS (
        SELECT 1 FROM assignment a
        WHERE a.campaign_id = NEW.campaign_id AND a.rt_code = NEW.rt_code AND a.id <> NEW.id AND a.kind = 'visit'
          AND a.status IN ('assigned', 'in_progress', 'submitted', 'returned')
          AND (a.household_id IS NULL OR NEW.household_id IS NULL OR a.household_id = NEW.household_id)
    ) THEN
        RAISE EXCEPTION 'RT % already has an active assignment in campaign %', NEW.rt_code, NEW.campaign_id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;

-- The members as the verifier found them: [{nama, hubungan, jenis_kelamin, tahun_lahir, nik_hash, nik_masked}]
-- (a NIK only as a keyed hash and a masked form, as in household).
ALTER TABLE verification ADD COLUMN members jsonb CHECK (members IS NULL OR jsonb_typeof(members) = 'array');

-- Photos of the house, kept in the database so that a backup, a transaction and the audit cover them.
CREATE TABLE verification_photo (
    verification_id bigint NOT NULL REFERENCES verification (id) ON DELETE CASCADE,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size_bytes integer NOT NULL CHECK (size_bytes BETWEEN 1 AND 5242880),
    data bytea NOT NULL,
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (verification_id, sha256)
);
ALTER TABLE verification_photo ALTER COLUMN data SET STORAGE EXTERNAL;  -- JPEG does not compress further

-- The audit records a photo's metadata, not its bytes.
CREATE FUNCTION peta_audit_photo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_audit_write('verification_photo', 'insert', ARRAY[NEW.verification_id || ':' || NEW.sha256], NULL,
        jsonb_build_array(to_jsonb(NEW) - 'data'));
    RETURN NULL;
END $$;
CREATE TRIGGER audit_insert AFTER INSERT ON verification_photo FOR EACH ROW EXECUTE FUNCTION peta_audit_photo();

-- Coverage asks, for every target family, whether its RT (or the family) has an assignment of any status.
CREATE INDEX assignment_campaign_rt_idx ON assignment (campaign_id, rt_code);
