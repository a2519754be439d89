-- Per-area figures in two forms with the same columns, both read straight by the API, tiles and portal:
--   area_figures       (view)  every figure with the derived rates, for Dinsos staff (admin, coordinator);
--   area_stats_public  (table) the figures as they may leave Dinsos: counts of 1-4 families suppressed
--                              (NULL), with complementary suppression among the children of one parent,
--                              and the rates derived from a suppressed count hidden with it.
-- The public table is refreshed with the aggregates (peta_stats_rollup), so it is never stale either.
-- The rule is gis/disclosure.py's; tests check that both give the same cells.

CREATE VIEW area_figures AS
SELECT s.code, s.level, s.population,
       s.families, s.people, s.removed_families, s.poor_bps_families, s.poor_bps_people,
       s.poor_local_families, s.poor_local_people, s.poor_official_families, s.poor_official_people,
       s.fakir_miskin_families, s.miskin_families, s.rentan_families,
       s.verified_families, s.target_families, s.target_verified,
       s.recipients_pkh, s.recipients_bpnt, s.recipients_pbi_jk, s.recipients_bpjs_tk, s.recipients_kartu_bahagia,
       s.poor_without_pkh, s.poor_without_bpnt, s.poor_without_pbi_jk, s.poor_without_bpjs_tk,
       s.poor_without_kartu_bahagia, s.inclusion_errors, s.desil_disagree,
       s.last_verval,
       round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) AS poverty_rate_pct,
       round(s.population * c.rate)::int AS expected_poor_people,
       round(s.population * c.rate)::int - s.poor_bps_people AS under_coverage_people,
       round(100.0 * s.verified_families / NULLIF(s.families, 0), 2) AS coverage_pct,
       round(100.0 * s.target_verified / NULLIF(s.target_families, 0), 2) AS target_coverage_pct,
       '{}'::text[] AS suppressed
FROM area_stats s
CROSS JOIN (SELECT peta_cfg('aggregates', 'city_poverty_rate') AS rate) c;

CREATE TABLE area_stats_public AS SELECT * FROM area_figures WITH NO DATA;
ALTER TABLE area_stats_public
    ADD PRIMARY KEY (code),
    ADD FOREIGN KEY (code) REFERENCES area (code) ON DELETE CASCADE;
CREATE INDEX area_stats_public_level_idx ON area_stats_public (level, code);

-- Recompute the published figures of the sibling groups that contain the given RTs or their ancestors
-- (every area when NULL). Typed throughout (no jsonb round trip): the whole city takes a fraction of a
-- second, one family's change a few milliseconds.
CREATE FUNCTION peta_publish(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    counts text[] := ARRAY[
        'families', 'people', 'removed_families', 'poor_bps_families', 'poor_bps_people',
        'poor_local_families', 'poor_local_people', 'poor_official_families', 'poor_official_people',
        'fakir_miskin_families', 'miskin_families', 'rentan_families', 'verified_families',
        'target_families', 'target_verified', 'recipients_pkh', 'recipients_bpnt', 'recipients_pbi_jk',
        'recipients_bpjs_tk', 'recipients_kartu_bahagia', 'poor_without_pkh', 'poor_without_bpnt',
        'poor_without_pbi_jk', 'poor_without_bpjs_tk', 'poor_without_kartu_bahagia', 'inclusion_errors',
        'desil_disagree'];
    small int := 4;  -- counts of 1..small families are not published (gis/disclosure.py MAX_SMALL)
    parents text[];
BEGIN
    IF rts IS NOT NULL THEN
        parents := ARRAY(SELECT DISTINCT left(x, n) FROM unnest(rts) x, unnest(ARRAY[17, 13, 8, 5]) n);
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS peta_publish_group (LIKE area_figures, parent_code text) ON COMMIT DROP;
    TRUNCATE peta_publish_group;
    INSERT INTO peta_publish_group
    SELECT f.*, a.parent_code FROM area_figures f JOIN area a ON a.code = f.code
    WHERE parents IS NULL OR a.parent_code IN (SELECT unnest(parents)) OR a.level = 'kota';
    ANALYZE peta_publish_group;

    DELETE FROM area_stats_public p USING peta_publish_group g WHERE p.code = g.code;
    WITH cells AS (
        SELECT g.code, g.level, g.parent_code, e.col, e.v
        FROM peta_publish_group g
        CROSS JOIN LATERAL unnest(counts, ARRAY[
            g.families, g.people, g.removed_families, g.poor_bps_families, g.poor_bps_people,
            g.poor_local_families, g.poor_local_people, g.poor_official_families, g.poor_official_people,
            g.fakir_miskin_families, g.miskin_families, g.rentan_families, g.verified_families,
            g.target_families, g.target_verified, g.recipients_pkh, g.recipients_bpnt, g.recipients_pbi_jk,
            g.recipients_bpjs_tk, g.recipients_kartu_bahagia, g.poor_without_pkh, g.poor_without_bpnt,
            g.poor_without_pbi_jk, g.poor_without_bpjs_tk, g.poor_without_kartu_bahagia, g.inclusion_errors,
            g.desil_disagree]) AS e(col, v)
    ), prim AS (
        SELECT c.*, c.v BETWEEN 1 AND small AS p,
               count(*) FILTER (WHERE c.v BETWEEN 1 AND small)
                   OVER (PARTITION BY c.level, c.parent_code COLLATE "C", c.col COLLATE "C") AS np
        FROM cells c
    ), comp AS (
        -- a lone suppressed cell among its siblings could be recovered from the parent's total:
        -- hide the smallest non-zero visible sibling as well
        -- (codes compare byte-wise, as gis/disclosure.py compares them)
        SELECT DISTINCT ON (level, parent_code COLLATE "C", col COLLATE "C") code, col FROM prim
        WHERE np = 1 AND NOT p AND v > 0
        ORDER BY level, parent_code COLLATE "C", col COLLATE "C", v, code COLLATE "C"
    ), hidden AS (
        SELECT code, array_agg(col ORDER BY array_position(counts, col)) AS cols
        FROM (SELECT code, col FROM prim WHERE p UNION SELECT code, col FROM comp) h
        GROUP BY code
    )
    INSERT INTO area_stats_public
    SELECT g.code, g.level, g.population,
           CASE WHEN 'families' = ANY (h.cols) THEN NULL ELSE g.families END,
           CASE WHEN 'people' = ANY (h.cols) THEN NULL ELSE g.people END,
           CASE WHEN 'removed_families' = ANY (h.cols) THEN NULL ELSE g.removed_families END,
           CASE WHEN 'poor_bps_families' = ANY (h.cols) THEN NULL ELSE g.poor_bps_families END,
           CASE WHEN 'poor_bps_people' = ANY (h.cols) THEN NULL ELSE g.poor_bps_people END,
           CASE WHEN 'poor_local_families' = ANY (h.cols) THEN NULL ELSE g.poor_local_families END,
           CASE WHEN 'poor_local_people' = ANY (h.cols) THEN NULL ELSE g.poor_local_people END,
           CASE WHEN 'poor_official_families' = ANY (h.cols) THEN NULL ELSE g.poor_official_families END,
           CASE WHEN 'poor_official_people' = ANY (h.cols) THEN NULL ELSE g.poor_official_people END,
           CASE WHEN 'fakir_miskin_families' = ANY (h.cols) THEN NULL ELSE g.fakir_miskin_families END,
           CASE WHEN 'miskin_families' = ANY (h.cols) THEN NULL ELSE g.miskin_families END,
           CASE WHEN 'rentan_families' = ANY (h.cols) THEN NULL ELSE g.rentan_families END,
           CASE WHEN 'verified_families' = ANY (h.cols) THEN NULL ELSE g.verified_families END,
           CASE WHEN 'target_families' = ANY (h.cols) THEN NULL ELSE g.target_families END,
           CASE WHEN 'target_verified' = ANY (h.cols) THEN NULL ELSE g.target_verified END,
           CASE WHEN 'recipients_pkh' = ANY (h.cols) THEN NULL ELSE g.recipients_pkh END,
           CASE WHEN 'recipients_bpnt' = ANY (h.cols) THEN NULL ELSE g.recipients_bpnt END,
           CASE WHEN 'recipients_pbi_jk' = ANY (h.cols) THEN NULL ELSE g.recipients_pbi_jk END,
           CASE WHEN 'recipients_bpjs_tk' = ANY (h.cols) THEN NULL ELSE g.recipients_bpjs_tk END,
           CASE WHEN 'recipients_kartu_bahagia' = ANY (h.cols) THEN NULL ELSE g.recipients_kartu_bahagia END,
           CASE WHEN 'poor_without_pkh' = ANY (h.cols) THEN NULL ELSE g.poor_without_pkh END,
           CASE WHEN 'poor_without_bpnt' = ANY (h.cols) THEN NULL ELSE g.poor_without_bpnt END,
           CASE WHEN 'poor_without_pbi_jk' = ANY (h.cols) THEN NULL ELSE g.poor_without_pbi_jk END,
           CASE WHEN 'poor_without_bpjs_tk' = ANY (h.cols) THEN NULL ELSE g.poor_without_bpjs_tk END,
           CASE WHEN 'poor_without_kartu_bahagia' = ANY (h.cols) THEN NULL ELSE g.poor_without_kartu_bahagia END,
           CASE WHEN 'inclusion_errors' = ANY (h.cols) THEN NULL ELSE g.inclusion_errors END,
           CASE WHEN 'desil_disagree' = ANY (h.cols) THEN NULL ELSE g.desil_disagree END,
           g.last_verval,
           CASE WHEN 'poor_bps_people' = ANY (h.cols) THEN NULL ELSE g.poverty_rate_pct END,
           g.expected_poor_people,
           CASE WHEN 'poor_bps_people' = ANY (h.cols) THEN NULL ELSE g.under_coverage_people END,
           CASE WHEN h.cols && ARRAY['verified_families', 'families'] THEN NULL ELSE g.coverage_pct END,
           CASE WHEN h.cols && ARRAY['target_verified', 'target_families'] THEN NULL ELSE g.target_coverage_pct END,
           COALESCE(h.cols, '{}'::text[])
    FROM peta_publish_group g LEFT JOIN hidden h ON h.code = g.code;
END $$;

-- The rollup now publishes what it summed: the 0002 function keeps its body under a new name, and
-- the name every caller uses sums and then publishes.
ALTER FUNCTION peta_stats_rollup(text[]) RENAME TO peta_stats_sum;
CREATE FUNCTION peta_stats_rollup(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_stats_sum(rts);
    PERFORM peta_publish(rts);
END $$;

SELECT peta_publish(NULL);

-- Geomasking with missing radii must fail loudly, not fall back to one point per kelurahan: the 0006
-- function keeps its body under a new name, behind a check of its radii.
ALTER FUNCTION peta_geomask(geometry, geometry, text, float8, float8) RENAME TO peta_geomask_unchecked;
CREATE FUNCTION peta_geomask(p geometry, area geometry, seed text, rmin float8, rmax float8) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF rmin IS NULL OR rmax IS NULL OR NOT (0 < rmin AND rmin < rmax) THEN
        RAISE EXCEPTION 'peta_geomask: radii % and % are not 0 < min < max (peta_config disclosure)', rmin, rmax;
    END IF;
    IF p IS NULL OR area IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN peta_geomask_unchecked(p, area, seed, rmin, rmax);
END $$;
