-- Programme exchange (issue 18): agency keys bound to one programme, and the rosters they upload.
--
-- A programme is configuration (programs.national, programs.local, kab_kota.<code>.programs.local), never a
-- table. An agency key may be bound to one programme (api_key.programme): such a key is used for that
-- programme's exchange only (purpose limitation), and never holds the points agreement.
--
-- programme_roster: one row per accepted upload, a version: which programme and period, for which area (the
-- uploader's scope; '{}' for an unbounded one), who sent it, when, what file (its SHA-256), how many rows,
-- matched and unmatched, and the row report (row numbers and reasons, never a number). It belongs to no single
-- kab/kota (an office scoped to a province uploads for several), like a campaign before 0017 or a key.
-- programme_recipient: the families a roster names, each with the family's kab/kota (kota_code, which every
-- writer supplies; the keys include it, as 0019's do, for a distribution by kab/kota). The current recipients of
-- a programme and period in an area are those of the newest roster covering that area; older rosters stay.
-- programme_list / programme_eligible (below): each period's eligibility list, fixed per kab/kota at its cut-off.
-- All four are append-only for the application: history is kept, and every insert is audited. For a Citus
-- distribution by kota_code, programme_recipient, programme_list and programme_eligible carry it in their keys;
-- programme_roster (no kab/kota) would be a reference table.

ALTER TABLE api_key ADD COLUMN programme text;
ALTER TABLE api_key ADD CONSTRAINT api_key_programme_form
    CHECK (programme IS NULL OR programme ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$');
ALTER TABLE api_key ADD CONSTRAINT api_key_programme_no_points CHECK (programme IS NULL OR NOT points_agreement);
-- an agreement lets a programme key's eligibility list carry the head's name, the address and the RT
ALTER TABLE api_key ADD COLUMN programme_names boolean NOT NULL DEFAULT false;
ALTER TABLE api_key ADD CONSTRAINT api_key_programme_names CHECK (NOT programme_names OR programme IS NOT NULL);

CREATE TABLE programme_roster (
    id bigserial PRIMARY KEY,
    programme text NOT NULL CHECK (programme ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$'),
    period text NOT NULL CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$'),
    scope_codes text[] NOT NULL DEFAULT '{}',
    uploaded_by text NOT NULL,
    key_id bigint REFERENCES api_key (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    filename text,
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    rows integer NOT NULL CHECK (rows >= 0),
    matched integer NOT NULL CHECK (matched >= 0),
    unmatched integer NOT NULL CHECK (unmatched >= 0),
    partial boolean NOT NULL DEFAULT false,
    issues jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX programme_roster_period_idx ON programme_roster (programme, period, id DESC);

CREATE TABLE programme_recipient (
    id bigserial,
    kota_code text NOT NULL CHECK (kota_code ~ '^\d{2}\.\d{2}$'),
    roster_id bigint NOT NULL REFERENCES programme_roster (id),
    household_id bigint NOT NULL,
    row integer NOT NULL,
    PRIMARY KEY (id, kota_code),
    UNIQUE (roster_id, household_id, kota_code),
    FOREIGN KEY (household_id, kota_code) REFERENCES household (id, kota_code) ON DELETE CASCADE
);
CREATE INDEX programme_recipient_household_idx ON programme_recipient (household_id, kota_code);

-- A period's eligibility list, fixed per kab/kota at the period's cut-off (programs.cutoff_day of its first month):
-- the first pull on or after that day stores the families the rule selects then, with the values it selected them
-- by; every later pull of that period reads the same families. Before the cut-off a pull is provisional (live).
CREATE TABLE programme_list (
    programme text NOT NULL CHECK (programme ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$'),
    period text NOT NULL CHECK (period ~ '^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$'),
    kota_code text NOT NULL CHECK (kota_code ~ '^\d{2}\.\d{2}$'),
    cutoff date NOT NULL,
    fixed_at timestamptz NOT NULL DEFAULT now(),
    families integer NOT NULL CHECK (families >= 0),
    rule jsonb NOT NULL,
    PRIMARY KEY (programme, period, kota_code)
);
CREATE TABLE programme_eligible (
    programme text NOT NULL,
    period text NOT NULL,
    kota_code text NOT NULL,
    household_id bigint NOT NULL,
    desil_resmi smallint,
    local_desil smallint,
    tgl_verval date,
    PRIMARY KEY (programme, period, household_id, kota_code),
    FOREIGN KEY (programme, period, kota_code) REFERENCES programme_list (programme, period, kota_code),
    FOREIGN KEY (household_id, kota_code) REFERENCES household (id, kota_code) ON DELETE CASCADE
);

-- a roster row naming a family by the head's NIK is matched on this column
CREATE INDEX IF NOT EXISTS household_nik_kepala_hash_idx ON household (nik_kepala_hash);

CREATE TRIGGER audit_insert AFTER INSERT ON programme_roster REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_insert('programme_roster', 'id');
CREATE TRIGGER audit_update AFTER UPDATE ON programme_roster REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_update('programme_roster', 'id');
CREATE TRIGGER audit_delete AFTER DELETE ON programme_roster REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_delete('programme_roster', 'id');
CREATE TRIGGER audit_insert AFTER INSERT ON programme_recipient REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_insert('programme_recipient', 'id');
CREATE TRIGGER audit_update AFTER UPDATE ON programme_recipient REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_update('programme_recipient', 'id');
CREATE TRIGGER audit_delete AFTER DELETE ON programme_recipient REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_delete('programme_recipient', 'id');

CREATE TRIGGER audit_insert AFTER INSERT ON programme_list REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_insert('programme_list', 'period');
CREATE TRIGGER audit_insert AFTER INSERT ON programme_eligible REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_insert('programme_eligible', 'household_id');
CREATE TRIGGER audit_update AFTER UPDATE ON programme_eligible REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_update('programme_eligible', 'household_id');
CREATE TRIGGER audit_delete AFTER DELETE ON programme_eligible REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_audit_delete('programme_eligible', 'household_id');

-- the application appends versions and fixed lists and reads them; it never rewrites or removes one
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'peta_app') THEN
        GRANT SELECT, INSERT ON programme_roster, programme_recipient, programme_list, programme_eligible TO peta_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON programme_roster, programme_recipient, programme_list, programme_eligible
            FROM peta_app;
        GRANT USAGE, SELECT ON SEQUENCE programme_roster_id_seq, programme_recipient_id_seq TO peta_app;
    END IF;
END $$;
