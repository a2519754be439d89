-- Every family belongs to one kab/kota, and so does everything hanging off it (issue 16): household,
-- household_rank, household_version, campaign_target, assignment, assignment_event, verification and
-- verification_photo carry kota_code (PP.KK), and their keys and the foreign keys between them include it.
-- This is what Citus needs to distribute them by the kab/kota code and keep one city's rows together
-- (co-located): a unique key or a foreign key between distributed tables must include the distribution
-- column. On plain PostGIS it changes nothing a query sees; it also makes a child row agree with its
-- parent's kab/kota (a target, visit or photo cannot point across cities).
--
-- kota_code is a plain column that every INSERT supplies (a distribution column cannot be generated, and
-- Citus routes a row before any trigger runs). A family's kab/kota is that of its RT; moving a family to
-- another kab/kota is removing it here and registering it there, as the registry itself does.
-- A KK number is unique within a kab/kota (household UNIQUE (kk_hash, kota_code)).
--
-- The backfill derives a value from columns already there; it is not a change of anyone's data, so the row
-- triggers (audit, figures) are off while it runs, and one audit row records the migration itself.

ALTER TABLE household DISABLE TRIGGER USER;
ALTER TABLE household_rank DISABLE TRIGGER USER;
ALTER TABLE assignment DISABLE TRIGGER USER;
ALTER TABLE verification DISABLE TRIGGER USER;
ALTER TABLE verification_photo DISABLE TRIGGER USER;

ALTER TABLE household ADD COLUMN kota_code text;
UPDATE household SET kota_code = left(COALESCE(rt_code, kode_rt), 5);
DO $$
DECLARE
    bad bigint := (SELECT count(*) FROM household WHERE kota_code IS NULL OR kota_code !~ '^\d{2}\.\d{2}$');
BEGIN
    IF bad > 0 THEN
        RAISE EXCEPTION '% families have no RT code to take their kab/kota from (household.rt_code and kode_rt)', bad
            USING HINT = 'give them an RT (re-import them with kode_rt) before upgrading';
    END IF;
END $$;
ALTER TABLE household
    ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT household_kota_code_check
        CHECK (kota_code ~ '^\d{2}\.\d{2}$' AND (rt_code IS NULL OR left(rt_code, 5) = kota_code));

-- the foreign keys into the tables whose keys change go first, and come back over the new keys below
ALTER TABLE campaign_target DROP CONSTRAINT campaign_target_household_id_fkey;
ALTER TABLE assignment DROP CONSTRAINT assignment_household_id_fkey,
    DROP CONSTRAINT assignment_backcheck_of_fkey;
ALTER TABLE assignment_event DROP CONSTRAINT assignment_event_assignment_id_fkey;
ALTER TABLE verification DROP CONSTRAINT verification_assignment_id_fkey,
    DROP CONSTRAINT verification_household_id_fkey;
ALTER TABLE verification_photo DROP CONSTRAINT verification_photo_verification_id_fkey;

-- id first: a family is still found by its id alone through the same index
ALTER TABLE household DROP CONSTRAINT household_pkey, ADD PRIMARY KEY (id, kota_code);
ALTER TABLE household DROP CONSTRAINT household_kk_hash_key,
    ADD CONSTRAINT household_kk_hash_key UNIQUE (kk_hash, kota_code);

ALTER TABLE household_rank ADD COLUMN kota_code text;
DELETE FROM household_rank r WHERE NOT EXISTS (SELECT 1 FROM household h WHERE h.id = r.household_id);
UPDATE household_rank r SET kota_code = h.kota_code FROM household h WHERE h.id = r.household_id;
ALTER TABLE household_rank ALTER COLUMN kota_code SET NOT NULL,
    DROP CONSTRAINT household_rank_pkey, ADD PRIMARY KEY (household_id, kota_code);

ALTER TABLE household_version ADD COLUMN kota_code text;
UPDATE household_version v SET kota_code = COALESCE(
    (SELECT h.kota_code FROM household h WHERE h.id = v.household_id),
    left(COALESCE(v.data ->> 'rt_code', v.data ->> 'kode_rt'), 5));
ALTER TABLE household_version ALTER COLUMN kota_code SET NOT NULL,
    DROP CONSTRAINT household_version_pkey, ADD PRIMARY KEY (id, kota_code),
    DROP CONSTRAINT household_version_household_id_version_key,
    ADD CONSTRAINT household_version_household_id_version_key UNIQUE (household_id, kota_code, version);

ALTER TABLE campaign_target ADD COLUMN kota_code text;
UPDATE campaign_target SET kota_code = left(rt_code, 5);
ALTER TABLE campaign_target ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT campaign_target_kota_code_check CHECK (left(rt_code, 5) = kota_code),
    DROP CONSTRAINT campaign_target_pkey, ADD PRIMARY KEY (campaign_id, household_id, kota_code),
    ADD CONSTRAINT campaign_target_household_id_fkey FOREIGN KEY (household_id, kota_code)
        REFERENCES household (id, kota_code) ON DELETE CASCADE;

ALTER TABLE assignment ADD COLUMN kota_code text;
UPDATE assignment SET kota_code = left(rt_code, 5);
ALTER TABLE assignment ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT assignment_kota_code_check CHECK (left(rt_code, 5) = kota_code),
    DROP CONSTRAINT assignment_pkey, ADD PRIMARY KEY (id, kota_code),
    ADD CONSTRAINT assignment_household_id_fkey FOREIGN KEY (household_id, kota_code)
        REFERENCES household (id, kota_code);
-- the one-active rules, with the kab/kota the RT or family already implies
DROP INDEX assignment_one_active_rt;
DROP INDEX assignment_one_active_family;
DROP INDEX assignment_one_backcheck;
CREATE UNIQUE INDEX assignment_one_active_rt ON assignment (campaign_id, rt_code, kota_code)
    WHERE kind = 'visit' AND household_id IS NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_active_family ON assignment (campaign_id, household_id, kota_code)
    WHERE kind = 'visit' AND household_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'submitted', 'returned');
CREATE UNIQUE INDEX assignment_one_backcheck ON assignment (backcheck_of, kota_code)
    WHERE kind = 'backcheck' AND status NOT IN ('declined', 'cancelled');

ALTER TABLE assignment_event ADD COLUMN kota_code text;
UPDATE assignment_event e SET kota_code = a.kota_code FROM assignment a WHERE a.id = e.assignment_id;
ALTER TABLE assignment_event ALTER COLUMN kota_code SET NOT NULL,
    DROP CONSTRAINT assignment_event_pkey, ADD PRIMARY KEY (id, kota_code),
    ADD CONSTRAINT assignment_event_assignment_id_fkey FOREIGN KEY (assignment_id, kota_code)
        REFERENCES assignment (id, kota_code) ON DELETE CASCADE;

ALTER TABLE verification ADD COLUMN kota_code text;
UPDATE verification v SET kota_code = h.kota_code FROM household h WHERE h.id = v.household_id;
ALTER TABLE verification ALTER COLUMN kota_code SET NOT NULL,
    DROP CONSTRAINT verification_pkey, ADD PRIMARY KEY (id, kota_code),
    DROP CONSTRAINT verification_client_id_key,
    ADD CONSTRAINT verification_client_id_key UNIQUE (client_id, kota_code),
    ADD CONSTRAINT verification_assignment_id_fkey FOREIGN KEY (assignment_id, kota_code)
        REFERENCES assignment (id, kota_code),
    ADD CONSTRAINT verification_household_id_fkey FOREIGN KEY (household_id, kota_code)
        REFERENCES household (id, kota_code);
ALTER TABLE assignment ADD CONSTRAINT assignment_backcheck_of_fkey FOREIGN KEY (backcheck_of, kota_code)
    REFERENCES verification (id, kota_code);

ALTER TABLE verification_photo ADD COLUMN kota_code text;
UPDATE verification_photo p SET kota_code = v.kota_code FROM verification v WHERE v.id = p.verification_id;
ALTER TABLE verification_photo ALTER COLUMN kota_code SET NOT NULL,
    DROP CONSTRAINT verification_photo_pkey, ADD PRIMARY KEY (verification_id, kota_code, sha256),
    ADD CONSTRAINT verification_photo_verification_id_fkey FOREIGN KEY (verification_id, kota_code)
        REFERENCES verification (id, kota_code) ON DELETE CASCADE;

ALTER TABLE household ENABLE TRIGGER USER;
ALTER TABLE household_rank ENABLE TRIGGER USER;
ALTER TABLE assignment ENABLE TRIGGER USER;
ALTER TABLE verification ENABLE TRIGGER USER;
ALTER TABLE verification_photo ENABLE TRIGGER USER;

-- The writers inside the database give the kab/kota of the row they derive from.
CREATE OR REPLACE FUNCTION peta_household_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO household_version (household_id, kota_code, version, data)
    VALUES (OLD.id, OLD.kota_code, OLD.version, to_jsonb(OLD));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION peta_assignment_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO assignment_event (assignment_id, kota_code, status, reason, actor)
        VALUES (NEW.id, NEW.kota_code, NEW.status, NEW.reason,
                COALESCE(NULLIF(current_setting('peta.actor', true), ''), 'db:' || current_user));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION peta_rebuild_ranking() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
BEGIN
    DELETE FROM household_rank;
    INSERT INTO household_rank (household_id, kota_code, score, bps_count, jumlah_anggota, local_desil, category)
    SELECT id, kota_code, score, bps_count, jumlah_anggota,
           ntile(10) OVER (PARTITION BY peta_desil_group(rt_code, over)
                           ORDER BY score DESC, bps_count DESC, jumlah_anggota DESC, id),
           -- inline: peta_category(score, t) would be called per row, its argument being an expression
           CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
    FROM (SELECT h.id, h.kota_code, h.rt_code, h.bps_count, h.jumlah_anggota,
                 peta_score(peta_criteria(h), w, wsum) AS score
          FROM household h WHERE h.active) s;
END $$;

CREATE OR REPLACE FUNCTION peta_refresh_scores(ids bigint[]) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    changed text[];
BEGIN
    DELETE FROM household_rank r
     WHERE r.household_id IN (SELECT unnest(ids))
       AND NOT EXISTS (SELECT 1 FROM household h
                       WHERE h.id = r.household_id AND h.kota_code = r.kota_code AND h.active);
    WITH s AS (
        SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
        FROM household h WHERE h.active AND h.id IN (SELECT unnest(ids))
    ), up AS (
        INSERT INTO household_rank AS r (household_id, kota_code, score, bps_count, jumlah_anggota, category)
        SELECT id, kota_code, score, bps_count, jumlah_anggota, peta_category(score, t) FROM s
        ON CONFLICT (household_id, kota_code) DO UPDATE
            SET score = EXCLUDED.score, bps_count = EXCLUDED.bps_count,
                jumlah_anggota = EXCLUDED.jumlah_anggota, category = EXCLUDED.category
        WHERE (r.score, r.bps_count, r.jumlah_anggota, r.category)
              IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.bps_count, EXCLUDED.jumlah_anggota, EXCLUDED.category)
        RETURNING r.household_id, r.kota_code
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed
      FROM up JOIN household h ON h.id = up.household_id AND h.kota_code = up.kota_code;
    RETURN COALESCE(changed, '{}');
END $$;

-- What the spatial data layer may know of the workflow, now with the kab/kota of each open assignment.
CREATE OR REPLACE VIEW open_assignment AS
    SELECT id, campaign_id, kind, verifier_id, rt_code, household_id, status, kota_code
    FROM assignment
    WHERE peta_assignment_active(status);

INSERT INTO audit_log (id, actor, role, action, object_type, object_ids, after, reason, prev_hash, hash)
VALUES (0, 'db:' || current_user, NULL, 'migrate', 'household', '{}',
        jsonb_build_object('families', (SELECT count(*) FROM household),
                           'kab_kota', (SELECT COALESCE(jsonb_agg(DISTINCT kota_code), '[]') FROM household)),
        'migration 0019: kota_code on every family and the rows hanging off it, from their RT codes', '', '');
