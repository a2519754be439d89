-- Registry: household versions, placement, ranking and per-area aggregates kept fresh by triggers.
-- Applied by migration 0002. Every write to household or area refreshes, in the same transaction,
-- the scores and local desil of the changed families and the aggregates of the RTs they touch and
-- of those RTs' ancestors, so a reader never sees stale figures after a commit.

ALTER TABLE household
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN placement text CHECK (placement IN ('point', 'nearest', 'code')),
    ADD COLUMN placement_m real,
    ADD COLUMN point_rt_code text,
    ADD COLUMN bps_count smallint GENERATED ALWAYS AS (k01::int + k02::int + k03::int + k04::int + k05::int + k06::int + k07::int + k08::int + k09::int + k10::int + k11::int + k12::int + k13::int + k14::int) STORED,
    ADD COLUMN active boolean GENERATED ALWAYS AS (hasil_verval IS NULL OR hasil_verval = 1) STORED;

CREATE TABLE household_version (
    id bigserial PRIMARY KEY,
    household_id bigint NOT NULL,
    version integer NOT NULL,
    data jsonb NOT NULL,
    valid_to timestamptz NOT NULL DEFAULT now(),
    UNIQUE (household_id, version)
);

CREATE TABLE peta_config (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE household_rank (
    -- no foreign key: the refresh functions delete the rows of removed families, and checking
    -- 100,000 keys on every rebuild would cost more than the rebuild itself
    household_id bigint PRIMARY KEY,
    score numeric(6, 2) NOT NULL,
    -- the rest of the ranking order, copied from household so the order is one index scan
    bps_count smallint NOT NULL,
    jumlah_anggota smallint NOT NULL,
    local_desil smallint CHECK (local_desil BETWEEN 1 AND 10),
    category text CHECK (category IN ('fakir_miskin', 'miskin', 'rentan'))
) WITH (fillfactor = 80);  -- room for HOT updates of local_desil, which no index covers
-- poorest first: score, then criteria met, then family size, then the oldest record
CREATE INDEX household_rank_order_idx
    ON household_rank (score DESC, bps_count DESC, jumlah_anggota DESC, household_id);

CREATE TABLE area_stats (
    code text PRIMARY KEY REFERENCES area (code) ON DELETE CASCADE,
    level text NOT NULL,
    population integer,
    families integer NOT NULL,
    people integer NOT NULL,
    removed_families integer NOT NULL,
    poor_bps_families integer NOT NULL,
    poor_bps_people integer NOT NULL,
    poor_local_families integer NOT NULL,
    poor_local_people integer NOT NULL,
    poor_official_families integer NOT NULL,
    poor_official_people integer NOT NULL,
    fakir_miskin_families integer NOT NULL,
    miskin_families integer NOT NULL,
    rentan_families integer NOT NULL,
    verified_families integer NOT NULL,
    target_families integer NOT NULL,
    target_verified integer NOT NULL,
    last_verval date,
    recipients_pkh integer NOT NULL,
    recipients_bpnt integer NOT NULL,
    recipients_pbi_jk integer NOT NULL,
    recipients_bpjs_tk integer NOT NULL,
    recipients_kartu_bahagia integer NOT NULL,
    poor_without_pkh integer NOT NULL,
    poor_without_bpnt integer NOT NULL,
    poor_without_pbi_jk integer NOT NULL,
    poor_without_bpjs_tk integer NOT NULL,
    poor_without_kartu_bahagia integer NOT NULL,
    inclusion_errors integer NOT NULL,
    desil_disagree integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX area_stats_level_idx ON area_stats (level, code);

-- The configured number at a JSON path of a config key.
CREATE FUNCTION peta_cfg(k text, VARIADIC path text[]) RETURNS float8
LANGUAGE sql STABLE AS $$ SELECT (value #>> path)::float8 FROM peta_config WHERE key = k $$;

-- The score of one family: 100 x (sum of the weights of the criteria met) / (sum of all weights).
-- (A plain SQL expression the planner inlines; the whole-row or per-row config lookups it replaces
-- cost seconds over 100,000 families.)
CREATE FUNCTION peta_score(k boolean[], w float8[], wsum float8) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round((100.0 * (k[1]::int * w[1] + k[2]::int * w[2] + k[3]::int * w[3] + k[4]::int * w[4]
        + k[5]::int * w[5] + k[6]::int * w[6] + k[7]::int * w[7] + k[8]::int * w[8] + k[9]::int * w[9]
        + k[10]::int * w[10] + k[11]::int * w[11] + k[12]::int * w[12] + k[13]::int * w[13]
        + k[14]::int * w[14]) / wsum)::numeric, 2)
$$;

-- The weights in criterion order.
CREATE FUNCTION peta_weights() RETURNS float8[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT peta_cfg('ranking', 'weights', 'k' || lpad(i::text, 2, '0')) FROM generate_series(1, 14) i)
$$;

-- The category of a score under thresholds (fakir miskin, miskin, rentan), the highest first.
CREATE FUNCTION peta_category(score numeric, t float8[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
$$;

-- The configured category thresholds in that order.
CREATE FUNCTION peta_thresholds() RETURNS float8[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY[peta_cfg('ranking', 'categories', 'fakir_miskin'), peta_cfg('ranking', 'categories', 'miskin'),
                 peta_cfg('ranking', 'categories', 'rentan')]
$$;

-- The 14 criteria of a family as an array, for peta_score.
CREATE FUNCTION peta_criteria(h household) RETURNS boolean[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[h.k01, h.k02, h.k03, h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14]
$$;

-- Every score, desil and category rebuilt in one pass (large changes, new settings).
CREATE FUNCTION peta_rebuild_ranking() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
BEGIN
    DELETE FROM household_rank;
    INSERT INTO household_rank (household_id, score, bps_count, jumlah_anggota, local_desil, category)
    SELECT id, score, bps_count, jumlah_anggota,
           ntile(10) OVER (ORDER BY score DESC, bps_count DESC, jumlah_anggota DESC, id),
           -- inline: peta_category(score, t) would be called per row, its argument being an expression
           CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
    FROM (SELECT h.id, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
          FROM household h WHERE h.active) s;
END $$;

-- Scores of the given families; returns the RTs whose figures may have changed.
CREATE FUNCTION peta_refresh_scores(ids bigint[]) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    changed text[];
BEGIN
    DELETE FROM household_rank r
     WHERE r.household_id IN (SELECT unnest(ids))
       AND NOT EXISTS (SELECT 1 FROM household h WHERE h.id = r.household_id AND h.active);
    WITH s AS (
        SELECT h.id, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
        FROM household h WHERE h.active AND h.id IN (SELECT unnest(ids))
    ), up AS (
        INSERT INTO household_rank AS r (household_id, score, bps_count, jumlah_anggota, category)
        SELECT id, score, bps_count, jumlah_anggota, peta_category(score, t) FROM s
        ON CONFLICT (household_id) DO UPDATE
            SET score = EXCLUDED.score, bps_count = EXCLUDED.bps_count,
                jumlah_anggota = EXCLUDED.jumlah_anggota, category = EXCLUDED.category
        WHERE (r.score, r.bps_count, r.jumlah_anggota, r.category)
              IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.bps_count, EXCLUDED.jumlah_anggota, EXCLUDED.category)
        RETURNING r.household_id
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed FROM up JOIN household h ON h.id = up.household_id;
    RETURN COALESCE(changed, '{}');
END $$;

-- Local desil 1-10 over all active families, poorest first; only families whose desil changes are
-- written. Returns their RTs.
CREATE FUNCTION peta_refresh_desil() RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
BEGIN
    WITH d AS (
        SELECT household_id,
               ntile(10) OVER (ORDER BY score DESC, bps_count DESC, jumlah_anggota DESC, household_id) AS desil
        FROM household_rank
    ), up AS (
        UPDATE household_rank r SET local_desil = d.desil FROM d
         WHERE r.household_id = d.household_id AND r.local_desil IS DISTINCT FROM d.desil
        RETURNING r.household_id
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed FROM up JOIN household h ON h.id = up.household_id;
    RETURN COALESCE(changed, '{}');
END $$;

-- Aggregates of the given RTs (all when NULL) from their families.
CREATE FUNCTION peta_stats_rt(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bps float8 := peta_cfg('ranking', 'bps_poor_min');
    poor_max float8 := peta_cfg('aggregates', 'poor_desil_max');
    target_max float8 := peta_cfg('aggregates', 'target_desil_max');
    incl_min float8 := peta_cfg('aggregates', 'inclusion_desil_min');
    gap float8 := peta_cfg('aggregates', 'desil_gap');
BEGIN
    DELETE FROM area_stats WHERE level = 'rt' AND (rts IS NULL OR code IN (SELECT unnest(rts)));
    INSERT INTO area_stats
    SELECT a.code, 'rt', a.population,
           count(h.id), COALESCE(sum(h.jumlah_anggota), 0),
           count(h.id) FILTER (WHERE NOT h.active),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps),
           COALESCE(sum(h.jumlah_anggota) FILTER (WHERE h.active AND h.bps_count >= bps), 0),
           count(h.id) FILTER (WHERE r.local_desil <= poor_max),
           COALESCE(sum(h.jumlah_anggota) FILTER (WHERE r.local_desil <= poor_max), 0),
           count(h.id) FILTER (WHERE h.active AND h.desil_resmi <= poor_max),
           COALESCE(sum(h.jumlah_anggota) FILTER (WHERE h.active AND h.desil_resmi <= poor_max), 0),
           count(h.id) FILTER (WHERE r.category = 'fakir_miskin'),
           count(h.id) FILTER (WHERE r.category = 'miskin'),
           count(h.id) FILTER (WHERE r.category = 'rentan'),
           count(h.id) FILTER (WHERE h.tgl_verval IS NOT NULL),
           count(h.id) FILTER (WHERE h.desil_resmi <= target_max),
           count(h.id) FILTER (WHERE h.desil_resmi <= target_max AND h.tgl_verval IS NOT NULL),
           max(h.tgl_verval),
           count(h.id) FILTER (WHERE h.active AND 'PKH' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND 'BPNT' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND 'PBI-JK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND 'BPJS-TK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND 'KARTU-BAHAGIA' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PKH' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPNT' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PBI-JK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPJS-TK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'KARTU-BAHAGIA' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.desil_resmi >= incl_min AND cardinality(h.programs) > 0),
           count(h.id) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap),
           now()
    FROM area a
    LEFT JOIN household h ON h.rt_code = a.code
    LEFT JOIN household_rank r ON r.household_id = h.id
    WHERE a.level = 'rt' AND (rts IS NULL OR a.code IN (SELECT unnest(rts)))
    GROUP BY a.code, a.population;
END $$;

-- Aggregates of areas above RT as sums of their RTs (by code prefix), for the ancestors of the given
-- RTs (every area when NULL): children always sum to their parent.
CREATE FUNCTION peta_stats_rollup(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lv record;
    sums text;
    cols text;
BEGIN
    SELECT string_agg(format('COALESCE(sum(s.%1$I), 0)::int', column_name), ', ' ORDER BY ordinal_position),
           string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
      INTO sums, cols
      FROM information_schema.columns
     WHERE table_name = 'area_stats' AND table_schema = current_schema()
       AND data_type = 'integer' AND column_name <> 'population';
    FOR lv IN SELECT * FROM (VALUES ('rw', 17), ('kelurahan', 13), ('kecamatan', 8), ('kota', 5)) v(level, n) LOOP
        EXECUTE format(
            'DELETE FROM area_stats WHERE level = %L AND ($1 IS NULL OR code IN (SELECT left(x, %s) FROM unnest($1) x))',
            lv.level, lv.n) USING rts;
        EXECUTE format(
            'INSERT INTO area_stats (code, level, population, %s, last_verval, updated_at)
             SELECT a.code, a.level, a.population, %s, max(s.last_verval), now()
             FROM area a LEFT JOIN area_stats s ON s.level = ''rt'' AND left(s.code, %s) = a.code
             WHERE a.level = %L AND ($1 IS NULL OR a.code IN (SELECT left(x, %s) FROM unnest($1) x))
             GROUP BY a.code, a.level, a.population',
            cols, sums, lv.n, lv.level, lv.n) USING rts;
    END LOOP;
END $$;

-- Everything downstream of a change to the given families and RTs (all when both are NULL).
CREATE FUNCTION peta_refresh(ids bigint[], rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched text[];
BEGIN
    IF (SELECT count(*) FROM peta_config WHERE key IN ('ranking', 'aggregates')) < 2 THEN
        RAISE EXCEPTION 'peta_config has no ranking/aggregates settings: run `peta db migrate`';
    END IF;
    -- a change to a large share of the families (an import, new settings) is cheaper rebuilt whole
    IF ids IS NULL OR cardinality(ids) > 0.2 * (SELECT count(*) FROM household_rank) + 1000 THEN
        -- statistics first: the rows of this very transaction are not in them yet, and plans made on
        -- "empty" tables turn the joins below (and every later refresh) quadratic
        ANALYZE household (id, rt_code, hasil_verval);  -- the columns the refresh joins and filters on
        PERFORM peta_rebuild_ranking();
        ANALYZE household_rank;
        PERFORM peta_stats_rt(NULL);
        PERFORM peta_stats_rollup(NULL);
        ANALYZE area_stats;
        RETURN;
    END IF;
    touched := peta_refresh_scores(ids) || peta_refresh_desil();
    touched := ARRAY(SELECT DISTINCT x FROM unnest(touched || rts) x WHERE x IS NOT NULL);
    IF cardinality(touched) > 0 THEN
        PERFORM peta_stats_rt(touched);
        PERFORM peta_stats_rollup(touched);
    END IF;
END $$;

CREATE FUNCTION peta_household_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_refresh(ARRAY(SELECT id FROM new_rows), ARRAY(SELECT DISTINCT rt_code FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION peta_household_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_refresh(ARRAY(SELECT id FROM new_rows),
                         ARRAY(SELECT rt_code FROM new_rows UNION SELECT rt_code FROM old_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION peta_household_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_refresh(ARRAY(SELECT id FROM old_rows), ARRAY(SELECT DISTINCT rt_code FROM old_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION peta_area_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    ANALYZE area;
    PERFORM peta_stats_rt(NULL);
    PERFORM peta_stats_rollup(NULL);
    ANALYZE area_stats;
    RETURN NULL;
END $$;

-- Keep the previous state of a family whenever its data changes.
CREATE FUNCTION peta_household_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO household_version (household_id, version, data) VALUES (OLD.id, OLD.version, to_jsonb(OLD));
    RETURN NULL;
END $$;

CREATE TRIGGER household_history AFTER UPDATE ON household
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION peta_household_history();
CREATE TRIGGER household_inserted AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION peta_household_inserted();
CREATE TRIGGER household_updated AFTER UPDATE ON household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_household_updated();
CREATE TRIGGER household_deleted AFTER DELETE ON household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION peta_household_deleted();
CREATE TRIGGER area_changed_insert AFTER INSERT ON area FOR EACH STATEMENT EXECUTE FUNCTION peta_area_changed();
CREATE TRIGGER area_changed_update AFTER UPDATE ON area FOR EACH STATEMENT EXECUTE FUNCTION peta_area_changed();
