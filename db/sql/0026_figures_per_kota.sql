-- The figures kept per kab/kota, each statement reaching only the kab/kota it refreshes (issue 16). Applied by
-- migration 0026, which also rewrites 0020's peta_stats_rt and
-- the area_figures view the same way (see the migration).
--
-- Before: the figure tables (area_stats, area_cell_key, area_stats_public) were keyed by the area code alone,
-- and the refresh's statements found their rows by RT codes. On Citus those tables live beside the families
-- they count (distributed by kab/kota), and a refresh runs inside the statement triggers of one shard of
-- families, on its worker: every statement there must name the kab/kota it touches, by the distribution column,
-- or Citus refuses it (it would reach other workers from a shard).
-- Now: each figure row carries its kab/kota (`kota_code`, the first five characters of its code: a check),
-- part of its key, supplied by every writer; every statement of the refresh filters the families, their ranks
-- and the figure rows by the kab/kota it refreshes. On plain PostgreSQL this changes no figure.

ALTER TABLE area_stats ADD COLUMN kota_code text;
ALTER TABLE area_cell_key ADD COLUMN kota_code text;
ALTER TABLE area_stats_public ADD COLUMN kota_code text;
ALTER TABLE area_stats DISABLE TRIGGER data_version_bump;
ALTER TABLE area_stats_public DISABLE TRIGGER data_version_bump;
UPDATE area_stats SET kota_code = left(code, 5);
UPDATE area_cell_key SET kota_code = left(code, 5);
UPDATE area_stats_public SET kota_code = left(code, 5);
ALTER TABLE area_stats ENABLE TRIGGER data_version_bump;
ALTER TABLE area_stats_public ENABLE TRIGGER data_version_bump;
ALTER TABLE area_stats ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT area_stats_kota_code CHECK (kota_code = left(code, 5)),
    DROP CONSTRAINT area_stats_pkey, ADD PRIMARY KEY (code, kota_code);
ALTER TABLE area_cell_key ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT area_cell_key_kota_code CHECK (kota_code = left(code, 5)),
    DROP CONSTRAINT area_cell_key_pkey, ADD PRIMARY KEY (code, kota_code);
ALTER TABLE area_stats_public ALTER COLUMN kota_code SET NOT NULL,
    ADD CONSTRAINT area_stats_public_kota_code CHECK (kota_code = left(code, 5)),
    DROP CONSTRAINT area_stats_public_pkey, ADD PRIMARY KEY (code, kota_code);

-- Whether the database is distributed (Citus): ANALYZE of whole tables inside the refresh is for plain
-- PostgreSQL only (on Citus the workers' autovacuum keeps each shard's statistics, and an ANALYZE there reaches
-- every node from inside a statement).
CREATE FUNCTION peta_citus() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
$$;

-- Whether this session runs on the coordinator, which may reach every shard: always on plain PostgreSQL; on
-- Citus, not inside a shard's trigger on a worker, nor in a reference table's copy on a worker.
CREATE FUNCTION peta_on_coordinator() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    yes boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN true;
    END IF;
    EXECUTE 'SELECT citus_is_coordinator()' INTO yes;
    RETURN yes;
END $$;

-- The criteria are named column by column below, not as peta_criteria(h): on Citus a shard's query names the row
-- by the shard's own table (household_102008), whose row type no function takes.

-- The kab/kota of some RTs (every kab/kota loaded for NULL): what a refresh of them filters on.
CREATE FUNCTION peta_kotas_of(rts text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN rts IS NULL THEN ARRAY(SELECT code FROM area WHERE level = 'kota' ORDER BY code)
                ELSE ARRAY(SELECT DISTINCT left(x, 5) FROM unnest(rts) x WHERE x IS NOT NULL ORDER BY 1) END
$$;

-- Scores of the given families of the given kab/kota (without the kab/kota: those the families are in).
DROP FUNCTION peta_refresh_scores(bigint[]);
CREATE FUNCTION peta_refresh_scores(ids bigint[], kotas text[] DEFAULT NULL) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    changed text[];
BEGIN
    IF kotas IS NULL THEN
        kotas := ARRAY(SELECT kota_code FROM household WHERE id = ANY (ids)
                       UNION SELECT kota_code FROM household_rank WHERE household_id = ANY (ids));
    END IF;
    DELETE FROM household_rank r
     WHERE r.kota_code = ANY (kotas) AND r.household_id IN (SELECT unnest(ids))
       AND NOT EXISTS (SELECT 1 FROM household h
                       WHERE h.id = r.household_id AND h.kota_code = r.kota_code AND h.active);
    WITH s AS (
        SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(ARRAY[h.k01, h.k02, h.k03, h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14], w, wsum) AS score
        FROM household h WHERE h.kota_code = ANY (kotas) AND h.active AND h.id IN (SELECT unnest(ids))
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
      FROM up JOIN household h ON h.id = up.household_id AND h.kota_code = up.kota_code
     WHERE h.kota_code = ANY (kotas);
    RETURN COALESCE(changed, '{}');
END $$;

-- The desil of the desil groups of the given kab/kota (every group for NULL).
CREATE OR REPLACE FUNCTION peta_refresh_desil(kotas text[] DEFAULT NULL) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
    peers text[] := CASE WHEN kotas IS NULL THEN ARRAY(SELECT DISTINCT kota_code FROM household_rank)
                         ELSE peta_desil_peers(kotas, over) END;
BEGIN
    -- a shard's trigger on a Citus worker holds one shard group: ranking across kab/kota cannot be done there
    IF over <> 'kota' AND NOT peta_on_coordinator() THEN
        RAISE EXCEPTION 'ranking.desil_over is %: on Citus the desil is ranked within each kab/kota (set it to kota)',
            over USING ERRCODE = 'feature_not_supported';
    END IF;
    WITH d AS (
        SELECT r.household_id, r.kota_code,
               ntile(10) OVER (PARTITION BY peta_desil_group(r.kota_code, over)
                               ORDER BY r.score DESC, r.bps_count DESC, r.jumlah_anggota DESC, r.household_id) AS desil
        FROM household_rank r
        WHERE r.kota_code = ANY (peers)
    ), up AS (
        UPDATE household_rank r SET local_desil = d.desil FROM d
         WHERE r.kota_code = ANY (peers) AND r.household_id = d.household_id AND r.kota_code = d.kota_code
           AND r.local_desil IS DISTINCT FROM d.desil
        RETURNING r.household_id, r.kota_code
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed
      FROM up JOIN household h ON h.id = up.household_id AND h.kota_code = up.kota_code
     WHERE h.kota_code = ANY (peers);
    RETURN COALESCE(changed, '{}');
END $$;

-- The ranking of the given kab/kota rebuilt (every family's for NULL); the RTs outside them whose desil changed.
CREATE OR REPLACE FUNCTION peta_rebuild_ranking(kotas text[] DEFAULT NULL) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
BEGIN
    IF kotas IS NULL THEN
        DELETE FROM household_rank;
        INSERT INTO household_rank (household_id, kota_code, score, bps_count, jumlah_anggota, local_desil, category)
        SELECT id, kota_code, score, bps_count, jumlah_anggota,
               ntile(10) OVER (PARTITION BY peta_desil_group(kota_code, over)
                               ORDER BY score DESC, bps_count DESC, jumlah_anggota DESC, id),
               -- inline: peta_category(score, t) would be called per row, its argument being an expression
               CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                    WHEN score >= t[3] THEN 'rentan' END
        FROM (SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(ARRAY[h.k01, h.k02, h.k03, h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14], w, wsum) AS score
              FROM household h WHERE h.active) s;
        RETURN '{}';
    END IF;
    DELETE FROM household_rank WHERE kota_code = ANY (kotas);
    INSERT INTO household_rank (household_id, kota_code, score, bps_count, jumlah_anggota, category)
    SELECT id, kota_code, score, bps_count, jumlah_anggota,
           CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
    FROM (SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(ARRAY[h.k01, h.k02, h.k03, h.k04, h.k05, h.k06, h.k07, h.k08, h.k09, h.k10, h.k11, h.k12, h.k13, h.k14], w, wsum) AS score
          FROM household h WHERE h.active AND h.kota_code = ANY (kotas)) s;
    IF NOT peta_citus() THEN
        ANALYZE household_rank;
    END IF;
    RETURN ARRAY(SELECT x FROM unnest(peta_refresh_desil(kotas)) x WHERE NOT left(x, 5) = ANY (kotas));
END $$;

-- Keys of the given RTs (all when NULL): 0020's, grouped rather than summed in a lateral subquery per RT (Citus
-- runs no aggregate without GROUP BY in a lateral subquery over a reference table's rows).
CREATE OR REPLACE FUNCTION peta_stats_keys_rt(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bps float8 := peta_cfg('ranking', 'bps_poor_min');
    poor_max float8 := peta_cfg('aggregates', 'poor_desil_max');
    target_max float8 := peta_cfg('aggregates', 'target_desil_max');
    incl_min float8 := peta_cfg('aggregates', 'inclusion_desil_min');
    gap float8 := peta_cfg('aggregates', 'desil_gap');
    -- one array rather than "rts IS NULL OR ...": the plan cached for this function then still reaches
    -- the given RTs by index (with the OR it reads every RT: 30-50 ms instead of under 1 ms for one RT)
    codes text[] := COALESCE(rts, ARRAY(SELECT code FROM area WHERE level = 'rt'));
    kotas text[] := peta_kotas_of(rts);
BEGIN
    DELETE FROM area_cell_key WHERE kota_code = ANY (kotas) AND level = 'rt' AND code = ANY (codes);
    INSERT INTO area_cell_key (
        kota_code, code, level, families, people, removed_families, poor_bps_families, poor_bps_people,
        poor_local_families, poor_local_people, poor_official_families, poor_official_people,
        fakir_miskin_families, miskin_families, rentan_families, verified_families, target_families,
        target_verified, recipients_pkh, recipients_bpnt, recipients_pbi_jk, recipients_bpjs_tk,
        recipients_local, poor_without_pkh, poor_without_bpnt, poor_without_pbi_jk, poor_without_bpjs_tk,
        poor_without_local, inclusion_errors, desil_disagree)
    SELECT left(k.code, 5), k.code, 'rt', k.all_, k.all_,
           k.removed, k.poor_bps, k.poor_bps, k.poor_local, k.poor_local, k.poor_official, k.poor_official,
           k.fakir_miskin, k.miskin, k.rentan, k.verified, k.target, k.target_verified,
           k.pkh, k.bpnt, k.pbi_jk, k.bpjs_tk, k.local_,
           k.poor_no_pkh, k.poor_no_bpnt, k.poor_no_pbi_jk, k.poor_no_bpjs_tk, k.poor_no_local,
           k.inclusion, k.disagree
    FROM (
        SELECT a.code,
               COALESCE(sum(h.record_key), 0) AS all_,
               COALESCE(sum(h.record_key) FILTER (WHERE NOT h.active), 0) AS removed,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps), 0) AS poor_bps,
               COALESCE(sum(h.record_key) FILTER (WHERE r.local_desil <= poor_max), 0) AS poor_local,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.desil_resmi <= poor_max), 0) AS poor_official,
               COALESCE(sum(h.record_key) FILTER (WHERE r.category = 'fakir_miskin'), 0) AS fakir_miskin,
               COALESCE(sum(h.record_key) FILTER (WHERE r.category = 'miskin'), 0) AS miskin,
               COALESCE(sum(h.record_key) FILTER (WHERE r.category = 'rentan'), 0) AS rentan,
               COALESCE(sum(h.record_key) FILTER (WHERE h.tgl_verval IS NOT NULL), 0) AS verified,
               COALESCE(sum(h.record_key) FILTER (WHERE h.desil_resmi <= target_max), 0) AS target,
               COALESCE(sum(h.record_key) FILTER (WHERE h.desil_resmi <= target_max AND h.tgl_verval IS NOT NULL), 0)
                   AS target_verified,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND 'PKH' = ANY (h.programs)), 0) AS pkh,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND 'BPNT' = ANY (h.programs)), 0) AS bpnt,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND 'PBI-JK' = ANY (h.programs)), 0) AS pbi_jk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND 'BPJS-TK' = ANY (h.programs)), 0) AS bpjs_tk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.programs && lp.local_codes), 0) AS local_,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PKH' = ANY (h.programs)), 0) AS poor_no_pkh,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPNT' = ANY (h.programs)), 0) AS poor_no_bpnt,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PBI-JK' = ANY (h.programs)), 0) AS poor_no_pbi_jk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPJS-TK' = ANY (h.programs)), 0) AS poor_no_bpjs_tk,
               COALESCE(sum(h.record_key) FILTER (WHERE cardinality(lp.local_codes) > 0 AND h.active AND h.bps_count >= bps
                                                   AND NOT (h.programs && lp.local_codes)), 0) AS poor_no_local,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.desil_resmi >= incl_min
                                                   AND cardinality(h.programs) > 0), 0) AS inclusion,
               COALESCE(sum(h.record_key) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap), 0) AS disagree
        FROM area a
        CROSS JOIN LATERAL (SELECT peta_local_programs(left(a.code, 5)) AS local_codes) lp
        LEFT JOIN household h ON h.kota_code = ANY (kotas) AND h.rt_code = a.code
        LEFT JOIN household_rank r
          ON r.kota_code = ANY (kotas) AND r.kota_code = h.kota_code AND r.household_id = h.id
        WHERE a.level = 'rt' AND left(a.code, 5) = ANY (kotas) AND a.code = ANY (codes)
        GROUP BY a.code, lp.local_codes
    ) k;
END $$;

-- Figures above RT: sums of their RTs (by code prefix) in the kab/kota of the given RTs (every area for NULL).
CREATE OR REPLACE FUNCTION peta_stats_sum(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lv record;
    sums text;
    cols text;
    kotas text[] := peta_kotas_of(rts);
BEGIN
    SELECT string_agg(format('COALESCE(sum(s.%1$I), 0)::int', column_name), ', ' ORDER BY ordinal_position),
           string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
      INTO sums, cols
      FROM information_schema.columns
     WHERE table_name = 'area_stats' AND table_schema = current_schema()
       AND data_type = 'integer' AND column_name <> 'population';
    FOR lv IN SELECT * FROM (VALUES ('rw', 17), ('kelurahan', 13), ('kecamatan', 8), ('kota', 5)) v(level, n) LOOP
        EXECUTE format(
            'DELETE FROM area_stats WHERE kota_code = ANY ($2) AND level = %L
               AND ($1 IS NULL OR code IN (SELECT left(x, %s) FROM unnest($1) x))',
            lv.level, lv.n) USING rts, kotas;
        EXECUTE format(
            'INSERT INTO area_stats (kota_code, code, level, population, %s, last_verval, updated_at)
             SELECT left(a.code, 5), a.code, a.level, a.population, %s, max(s.last_verval), now()
             FROM area a LEFT JOIN area_stats s
               ON s.kota_code = ANY ($2) AND s.level = ''rt'' AND left(s.code, %s) = a.code
             WHERE a.level = %L AND left(a.code, 5) = ANY ($2)
               AND ($1 IS NULL OR a.code IN (SELECT left(x, %s) FROM unnest($1) x))
             GROUP BY a.code, a.level, a.population',
            cols, sums, lv.n, lv.level, lv.n) USING rts, kotas;
    END LOOP;
END $$;

-- Keys of the areas above RT: sums of their RTs' keys, in the kab/kota of the given RTs (every area for NULL).
CREATE OR REPLACE FUNCTION peta_stats_keys_rollup(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lv record;
    sums text;
    cols text;
    kotas text[] := peta_kotas_of(rts);
BEGIN
    SELECT string_agg(format('COALESCE(sum(s.%1$I), 0)::bigint', attname), ', ' ORDER BY attnum),
           string_agg(quote_ident(attname), ', ' ORDER BY attnum)
      INTO sums, cols
      FROM peta_key_columns();
    FOR lv IN SELECT * FROM (VALUES ('rw', 17), ('kelurahan', 13), ('kecamatan', 8), ('kota', 5)) v(level, n) LOOP
        EXECUTE format(
            'DELETE FROM area_cell_key WHERE kota_code = ANY ($2) AND level = %L
               AND ($1 IS NULL OR code IN (SELECT left(x, %s) FROM unnest($1) x))',
            lv.level, lv.n) USING rts, kotas;
        EXECUTE format(
            'INSERT INTO area_cell_key (kota_code, code, level, %s)
             SELECT left(a.code, 5), a.code, a.level, %s
             FROM area a LEFT JOIN area_cell_key s
               ON s.kota_code = ANY ($2) AND s.level = ''rt'' AND left(s.code, %s) = a.code
             WHERE a.level = %L AND left(a.code, 5) = ANY ($2)
               AND ($1 IS NULL OR a.code IN (SELECT left(x, %s) FROM unnest($1) x))
             GROUP BY a.code, a.level',
            cols, sums, lv.n, lv.level, lv.n) USING rts, kotas;
    END LOOP;
END $$;

-- peta_publish written out from the key columns, each published row in its kab/kota.
CREATE OR REPLACE FUNCTION peta_make_publish() RETURNS void
LANGUAGE plpgsql AS $do$
DECLARE
    noisy text;
    shown text;
    cols text;
    hidden text;
BEGIN
    SELECT string_agg(format('peta_ckm(f.%1$I, k.%1$I, %2$s) AS %1$I', c,
                             CASE WHEN peta_people_of(c) IS NULL THEN 1 ELSE 2 END), ', ' ORDER BY i),
           string_agg(CASE WHEN peta_people_of(c) IS NULL
                           THEN format('CASE WHEN n.%1$I BETWEEN 1 AND 4 THEN NULL ELSE n.%1$I END AS %1$I', c)
                           ELSE format('peta_people_shown(n.%1$I, n.%2$I) AS %1$I', c, peta_people_of(c)) END,
                      ', ' ORDER BY i),
           string_agg(format('v.%I', c), ', ' ORDER BY i),
           string_agg(format('CASE WHEN v.%1$I IS NULL THEN %1$L END', c), ', ' ORDER BY i)
      INTO noisy, shown, cols, hidden
      FROM peta_key_columns() AS k(c, i);
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION peta_publish(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    codes text[] := CASE WHEN rts IS NULL THEN ARRAY(SELECT code FROM area)
                         ELSE ARRAY(SELECT DISTINCT left(x, n) FROM unnest(rts) x, unnest(ARRAY[21, 17, 13, 8, 5]) n) END;
    kotas text[] := peta_kotas_of(rts);
BEGIN
    DELETE FROM area_stats_public WHERE kota_code = ANY (kotas) AND code = ANY (codes);
    INSERT INTO area_stats_public
    WITH n AS (
        SELECT f.code, f.level, f.population, f.last_verval, f.expected_poor_people, %1$s
        FROM area_figures f JOIN area_cell_key k ON k.kota_code = f.kota_code AND k.code = f.code
        WHERE f.kota_code = ANY (kotas) AND f.code = ANY (codes)
    ), v AS (
        SELECT n.code, n.level, n.population, n.last_verval, n.expected_poor_people, %2$s FROM n
    )
    SELECT v.code, v.level, v.population, %3$s, v.last_verval,
           round(100.0 * v.poor_bps_people / NULLIF(v.population, 0), 2),
           v.expected_poor_people,
           v.expected_poor_people - v.poor_bps_people,
           peta_pct(v.verified_families, v.families),
           peta_pct(v.target_verified, v.target_families),
           array_remove(ARRAY[%4$s]::text[], NULL),
           left(v.code, 5)
    FROM v;
END $$ $f$, noisy, shown, cols, hidden);
END $do$;

SELECT peta_make_publish();

-- The refresh: as 0021's, each step given the kab/kota it touches; ANALYZE on plain PostgreSQL only.
CREATE OR REPLACE FUNCTION peta_refresh(ids bigint[], rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched text[];
    kotas text[];
    whole boolean := NOT peta_citus();  -- ANALYZE where it helps and is allowed
BEGIN
    IF (SELECT count(*) FROM peta_config WHERE key IN ('ranking', 'aggregates')) < 2 THEN
        RAISE EXCEPTION 'peta_config has no ranking/aggregates settings: run `peta db migrate`';
    END IF;
    IF ids IS NULL AND rts IS NULL THEN  -- everything (new settings, a repair)
        -- statistics first: the rows of this very transaction are not in them yet, and plans made on
        -- "empty" tables turn the joins below (and every later refresh) quadratic
        IF whole THEN
            ANALYZE household (id, kota_code, rt_code, hasil_verval);  -- the columns the refresh joins and filters on
        END IF;
        PERFORM peta_rebuild_ranking(NULL);
        IF whole THEN
            ANALYZE household_rank;
        END IF;
        PERFORM peta_stats_rt(NULL);
        PERFORM peta_stats_rollup(NULL);
        IF whole THEN
            ANALYZE area_stats;
        END IF;
        RETURN;
    END IF;
    IF COALESCE(cardinality(ids), 0) = 0 AND COALESCE(cardinality(rts), 0) = 0 THEN
        RETURN;  -- a statement that changed no family (on Citus: every shard's trigger of a statement fires)
    END IF;
    kotas := peta_kotas_of(rts);
    -- a change to a large share of these kab/kota's families (an import, a city loaded) is cheaper rebuilt whole
    IF cardinality(ids) > 0.2 * (SELECT count(*) FROM household_rank WHERE kota_code = ANY (kotas)) + 1000 THEN
        IF whole THEN
            ANALYZE household (id, kota_code, rt_code, hasil_verval);
        END IF;
        touched := peta_rebuild_ranking(kotas) || peta_kota_areas(kotas);
        PERFORM peta_stats_rt(touched);
        PERFORM peta_stats_rollup(touched);
        IF whole THEN
            ANALYZE area_stats;
        END IF;
        RETURN;
    END IF;
    touched := peta_refresh_scores(ids, kotas) || peta_refresh_desil(kotas);
    touched := ARRAY(SELECT DISTINCT x FROM unnest(touched || rts) x WHERE x IS NOT NULL);
    IF cardinality(touched) > 0 THEN
        PERFORM peta_stats_rt(touched);
        PERFORM peta_stats_rollup(touched);
    END IF;
END $$;

-- A statement on the areas recounts its kab/kota. The areas are a reference table on Citus, written on every
-- node: the recount runs once, on the coordinator.
CREATE OR REPLACE FUNCTION peta_area_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kotas text[];
    codes text[];
BEGIN
    IF NOT peta_on_coordinator() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        kotas := ARRAY(SELECT DISTINCT left(code, 5) FROM new_rows);
    ELSE
        kotas := ARRAY(SELECT left(code, 5) FROM new_rows UNION SELECT left(code, 5) FROM old_rows);
    END IF;
    IF cardinality(kotas) = 0 THEN
        RETURN NULL;
    END IF;
    IF NOT peta_citus() THEN
        ANALYZE area;
    END IF;
    codes := peta_kota_areas(kotas);
    PERFORM peta_stats_rt(codes);
    PERFORM peta_stats_rollup(codes);
    IF NOT peta_citus() THEN
        ANALYZE area_stats;
    END IF;
    RETURN NULL;
END $$;
