-- The refresh works per kab/kota (issue 16). Until now a large change (an import, a city loaded beside others)
-- rebuilt the ranking and figures of every kab/kota, every change re-ranked the local desil of every family, and
-- every statement on the areas recounted every RT: loading the sixth city of 28,000 families took 82 s against
-- 7 s for the first, and it grew with every city. Now a change touches the kab/kota it touches:
--   * a large change (more than a fifth of those kab/kota's families) rebuilds the ranking of those kab/kota only,
--     then the local desil of their desil groups (ranking.desil_over: the kab/kota itself, its province, or all),
--     then the figures of their areas and of any RT whose desil moved;
--   * a small one scores its families and re-ranks only their desil groups;
--   * a statement on the areas recounts the kab/kota whose areas it wrote (transition tables, as for families).
-- The results are the same as the whole rebuild's (tests/gis/test_ranking_rules.py checks both ways).

CREATE INDEX household_kota_idx ON household (kota_code);
CREATE INDEX household_rank_kota_idx ON household_rank (kota_code);

-- The kab/kota whose families share a desil ranking with any of the given kab/kota (themselves for 'kota').
CREATE FUNCTION peta_desil_peers(kotas text[], over text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN over = 'kota' THEN kotas
                ELSE ARRAY(SELECT a.code FROM area a WHERE a.level = 'kota'
                           AND peta_desil_group(a.code, over) IN (SELECT peta_desil_group(k, over) FROM unnest(kotas) k))
                     || kotas END
$$;

DROP FUNCTION peta_refresh_desil();
-- Local desil 1-10 of the families of the given kab/kota and those ranked with them (every family when NULL),
-- poorest first; only families whose desil changes are written. Returns their RTs.
CREATE FUNCTION peta_refresh_desil(kotas text[] DEFAULT NULL) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
    peers text[] := CASE WHEN kotas IS NULL THEN NULL ELSE peta_desil_peers(kotas, over) END;
BEGIN
    WITH d AS (
        SELECT r.household_id, r.kota_code,
               ntile(10) OVER (PARTITION BY peta_desil_group(r.kota_code, over)
                               ORDER BY r.score DESC, r.bps_count DESC, r.jumlah_anggota DESC, r.household_id) AS desil
        FROM household_rank r
        WHERE peers IS NULL OR r.kota_code = ANY (peers)
    ), up AS (
        UPDATE household_rank r SET local_desil = d.desil FROM d
         WHERE r.household_id = d.household_id AND r.kota_code = d.kota_code
           AND r.local_desil IS DISTINCT FROM d.desil
        RETURNING r.household_id, r.kota_code
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed
      FROM up JOIN household h ON h.id = up.household_id AND h.kota_code = up.kota_code;
    RETURN COALESCE(changed, '{}');
END $$;

DROP FUNCTION peta_rebuild_ranking();
-- Every score, desil and category of the given kab/kota rebuilt (every family in one pass when NULL). Returns the
-- RTs of other kab/kota whose desil moved (a province- or nation-wide desil_over ranks them together).
CREATE FUNCTION peta_rebuild_ranking(kotas text[] DEFAULT NULL) RETURNS text[]
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
        FROM (SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
              FROM household h WHERE h.active) s;
        RETURN '{}';
    END IF;
    DELETE FROM household_rank WHERE kota_code = ANY (kotas);
    INSERT INTO household_rank (household_id, kota_code, score, bps_count, jumlah_anggota, category)
    SELECT id, kota_code, score, bps_count, jumlah_anggota,
           CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
    FROM (SELECT h.id, h.kota_code, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
          FROM household h WHERE h.active AND h.kota_code = ANY (kotas)) s;
    ANALYZE household_rank;
    RETURN ARRAY(SELECT x FROM unnest(peta_refresh_desil(kotas)) x WHERE NOT left(x, 5) = ANY (kotas));
END $$;

-- Every area code of the given kab/kota (what the figures' functions take to recount all of their areas).
CREATE FUNCTION peta_kota_areas(kotas text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT code FROM area WHERE left(code, 5) = ANY (kotas))
$$;

-- Everything downstream of a change to the given families and RTs (all when both are NULL).
CREATE OR REPLACE FUNCTION peta_refresh(ids bigint[], rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched text[];
    kotas text[];
BEGIN
    IF (SELECT count(*) FROM peta_config WHERE key IN ('ranking', 'aggregates')) < 2 THEN
        RAISE EXCEPTION 'peta_config has no ranking/aggregates settings: run `peta db migrate`';
    END IF;
    IF ids IS NULL AND rts IS NULL THEN  -- everything (new settings, a repair)
        -- statistics first: the rows of this very transaction are not in them yet, and plans made on
        -- "empty" tables turn the joins below (and every later refresh) quadratic
        ANALYZE household (id, kota_code, rt_code, hasil_verval);  -- the columns the refresh joins and filters on
        PERFORM peta_rebuild_ranking(NULL);
        ANALYZE household_rank;
        PERFORM peta_stats_rt(NULL);
        PERFORM peta_stats_rollup(NULL);
        ANALYZE area_stats;
        RETURN;
    END IF;
    kotas := ARRAY(SELECT DISTINCT left(x, 5) FROM unnest(rts) x WHERE x IS NOT NULL);
    -- a change to a large share of these kab/kota's families (an import, a city loaded) is cheaper rebuilt whole
    IF cardinality(ids) > 0.2 * (SELECT count(*) FROM household_rank WHERE kota_code = ANY (kotas)) + 1000 THEN
        ANALYZE household (id, kota_code, rt_code, hasil_verval);
        touched := peta_rebuild_ranking(kotas) || peta_kota_areas(kotas);
        PERFORM peta_stats_rt(touched);
        PERFORM peta_stats_rollup(touched);
        ANALYZE area_stats;
        RETURN;
    END IF;
    touched := peta_refresh_scores(ids) || peta_refresh_desil(kotas);
    touched := ARRAY(SELECT DISTINCT x FROM unnest(touched || rts) x WHERE x IS NOT NULL);
    IF cardinality(touched) > 0 THEN
        PERFORM peta_stats_rt(touched);
        PERFORM peta_stats_rollup(touched);
    END IF;
END $$;

-- A statement on the areas recounts the kab/kota whose areas it wrote (before: every RT of every kab/kota).
CREATE FUNCTION peta_area_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kotas text[];
    codes text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        kotas := ARRAY(SELECT DISTINCT left(code, 5) FROM new_rows);
    ELSE
        kotas := ARRAY(SELECT left(code, 5) FROM new_rows UNION SELECT left(code, 5) FROM old_rows);
    END IF;
    IF cardinality(kotas) = 0 THEN
        RETURN NULL;
    END IF;
    ANALYZE area;
    codes := peta_kota_areas(kotas);
    PERFORM peta_stats_rt(codes);
    PERFORM peta_stats_rollup(codes);
    ANALYZE area_stats;
    RETURN NULL;
END $$;

DROP TRIGGER area_changed_insert ON area;
DROP TRIGGER area_changed_update ON area;
CREATE TRIGGER area_changed_insert AFTER INSERT ON area REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_area_rows_changed();
CREATE TRIGGER area_changed_update AFTER UPDATE ON area REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_area_rows_changed();
