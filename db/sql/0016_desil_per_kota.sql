-- Local desil per kab/kota (issue 16): one deployment may hold many kab/kota, and a family's local desil ranks it
-- among the families of its own kab/kota, so loading a second city never moves the first city's desil. The
-- setting ranking.desil_over widens it where a province wants one ranking: 'kota' (the default, also when the
-- stored configuration predates the setting), 'provinsi' or 'all'.

CREATE OR REPLACE FUNCTION peta_desil_group(rt_code text, over text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE over WHEN 'all' THEN '' WHEN 'provinsi' THEN left(rt_code, 2) ELSE left(rt_code, 5) END;

CREATE OR REPLACE FUNCTION peta_refresh_desil() RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
BEGIN
    WITH d AS (
        SELECT r.household_id,
               ntile(10) OVER (PARTITION BY peta_desil_group(h.rt_code, over)
                               ORDER BY r.score DESC, r.bps_count DESC, r.jumlah_anggota DESC, r.household_id) AS desil
        FROM household_rank r JOIN household h ON h.id = r.household_id
    ), up AS (
        UPDATE household_rank r SET local_desil = d.desil FROM d
         WHERE r.household_id = d.household_id AND r.local_desil IS DISTINCT FROM d.desil
        RETURNING r.household_id
    )
    SELECT array_agg(DISTINCT h.rt_code) INTO changed FROM up JOIN household h ON h.id = up.household_id;
    RETURN COALESCE(changed, '{}');
END $$;

-- The full rebuild ranks the same way.
CREATE OR REPLACE FUNCTION peta_rebuild_ranking() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    w float8[] := peta_weights();
    wsum float8 := (SELECT sum(x) FROM unnest(w) x);
    t float8[] := peta_thresholds();
    over text := COALESCE((SELECT value ->> 'desil_over' FROM peta_config WHERE key = 'ranking'), 'kota');
BEGIN
    DELETE FROM household_rank;
    INSERT INTO household_rank (household_id, score, bps_count, jumlah_anggota, local_desil, category)
    SELECT id, score, bps_count, jumlah_anggota,
           ntile(10) OVER (PARTITION BY peta_desil_group(rt_code, over)
                           ORDER BY score DESC, bps_count DESC, jumlah_anggota DESC, id),
           -- inline: peta_category(score, t) would be called per row, its argument being an expression
           CASE WHEN score >= t[1] THEN 'fakir_miskin' WHEN score >= t[2] THEN 'miskin'
                WHEN score >= t[3] THEN 'rentan' END
    FROM (SELECT h.id, h.rt_code, h.bps_count, h.jumlah_anggota, peta_score(peta_criteria(h), w, wsum) AS score
          FROM household h WHERE h.active) s;
END $$;
