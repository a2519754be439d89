-- Settings of one kab/kota (issue 16): a deployment holding several kab/kota gives each its own expected poverty
-- rate and its own local programmes, over the deployment's defaults. peta_config 'kab_kota' holds
--   {"15.71": {"aggregates": {"city_poverty_rate": 0.0773}, "programs": {"local": [{code, name}, ...]}}, ...}
-- and a kab/kota without an entry (or without one of the two) takes the deployment's setting. Ranking weights,
-- categories and desil thresholds stay national rules, one per deployment.

INSERT INTO peta_config (key, value) VALUES ('kab_kota', '{}') ON CONFLICT (key) DO NOTHING;

-- The local programmes of one kab/kota: its own list, else the deployment's.
CREATE FUNCTION peta_local_programs(kota text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT ARRAY(SELECT p ->> 'code' FROM jsonb_array_elements(c.value -> kota -> 'programs' -> 'local') p)
         FROM peta_config c
         WHERE c.key = 'kab_kota' AND jsonb_typeof(c.value -> kota -> 'programs' -> 'local') = 'array'),
        peta_local_programs())
$$;

-- The expected share of poor people of one kab/kota: its own rate, else the deployment's.
CREATE FUNCTION peta_poverty_rate(kota text) RETURNS float8
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT (c.value -> kota -> 'aggregates' ->> 'city_poverty_rate')::float8
         FROM peta_config c WHERE c.key = 'kab_kota'),
        peta_cfg('aggregates', 'city_poverty_rate'))
$$;

-- Every local programme code of any kab/kota (what a figures filter may name).
CREATE FUNCTION peta_all_local_programs() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT DISTINCT code FROM (
            SELECT unnest(peta_local_programs()) AS code
            UNION ALL
            SELECT p ->> 'code' FROM peta_config c, jsonb_each(c.value) k,
                   jsonb_array_elements(CASE WHEN jsonb_typeof(k.value -> 'programs' -> 'local') = 'array'
                                             THEN k.value -> 'programs' -> 'local' ELSE '[]' END) p
            WHERE c.key = 'kab_kota') x
        ORDER BY code)
$$;

-- The figures of every area with its own kab/kota's rate.
CREATE OR REPLACE VIEW area_figures AS
SELECT s.code, s.level, s.population,
       s.families, s.people, s.removed_families, s.poor_bps_families, s.poor_bps_people,
       s.poor_local_families, s.poor_local_people, s.poor_official_families, s.poor_official_people,
       s.fakir_miskin_families, s.miskin_families, s.rentan_families,
       s.verified_families, s.target_families, s.target_verified,
       s.recipients_pkh, s.recipients_bpnt, s.recipients_pbi_jk, s.recipients_bpjs_tk, s.recipients_local,
       s.poor_without_pkh, s.poor_without_bpnt, s.poor_without_pbi_jk, s.poor_without_bpjs_tk,
       s.poor_without_local, s.inclusion_errors, s.desil_disagree,
       s.last_verval,
       round(100.0 * s.poor_bps_people / NULLIF(s.population, 0), 2) AS poverty_rate_pct,
       round(s.population * peta_poverty_rate(left(s.code, 5)))::int AS expected_poor_people,
       round(s.population * peta_poverty_rate(left(s.code, 5)))::int - s.poor_bps_people AS under_coverage_people,
       round(100.0 * s.verified_families / NULLIF(s.families, 0), 2) AS coverage_pct,
       round(100.0 * s.target_verified / NULLIF(s.target_families, 0), 2) AS target_coverage_pct,
       '{}'::text[] AS suppressed
FROM area_stats s;

-- Aggregates of the given RTs (all when NULL): 0018's, each RT counting its own kab/kota's local programmes.
CREATE OR REPLACE FUNCTION peta_stats_rt(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bps float8 := peta_cfg('ranking', 'bps_poor_min');
    poor_max float8 := peta_cfg('aggregates', 'poor_desil_max');
    target_max float8 := peta_cfg('aggregates', 'target_desil_max');
    incl_min float8 := peta_cfg('aggregates', 'inclusion_desil_min');
    gap float8 := peta_cfg('aggregates', 'desil_gap');
BEGIN
    DELETE FROM area_stats WHERE level = 'rt' AND (rts IS NULL OR code IN (SELECT unnest(rts)));
    INSERT INTO area_stats (
        code, level, population, families, people, removed_families, poor_bps_families, poor_bps_people,
        poor_local_families, poor_local_people, poor_official_families, poor_official_people,
        fakir_miskin_families, miskin_families, rentan_families, verified_families, target_families,
        target_verified, last_verval, recipients_pkh, recipients_bpnt, recipients_pbi_jk, recipients_bpjs_tk,
        recipients_local, poor_without_pkh, poor_without_bpnt, poor_without_pbi_jk, poor_without_bpjs_tk,
        poor_without_local, inclusion_errors, desil_disagree, updated_at)
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
           count(h.id) FILTER (WHERE h.active AND h.programs && lp.local_codes),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PKH' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPNT' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PBI-JK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPJS-TK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE cardinality(lp.local_codes) > 0 AND h.active AND h.bps_count >= bps
                                 AND NOT (h.programs && lp.local_codes)),
           count(h.id) FILTER (WHERE h.active AND h.desil_resmi >= incl_min AND cardinality(h.programs) > 0),
           count(h.id) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap),
           now()
    FROM area a
    CROSS JOIN LATERAL (SELECT peta_local_programs(left(a.code, 5)) AS local_codes) lp
    LEFT JOIN household h ON h.rt_code = a.code
    LEFT JOIN household_rank r ON r.household_id = h.id
    WHERE a.level = 'rt' AND (rts IS NULL OR a.code IN (SELECT unnest(rts)))
    GROUP BY a.code, a.population, lp.local_codes;
END $$;

-- Keys of the given RTs (all when NULL): 0018's, each RT's local programmes its kab/kota's.
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
BEGIN
    DELETE FROM area_cell_key WHERE level = 'rt' AND code = ANY (codes);
    INSERT INTO area_cell_key (
        code, level, families, people, removed_families, poor_bps_families, poor_bps_people,
        poor_local_families, poor_local_people, poor_official_families, poor_official_people,
        fakir_miskin_families, miskin_families, rentan_families, verified_families, target_families,
        target_verified, recipients_pkh, recipients_bpnt, recipients_pbi_jk, recipients_bpjs_tk,
        recipients_local, poor_without_pkh, poor_without_bpnt, poor_without_pbi_jk, poor_without_bpjs_tk,
        poor_without_local, inclusion_errors, desil_disagree)
    SELECT a.code, 'rt', k.all_, k.all_,
           k.removed, k.poor_bps, k.poor_bps, k.poor_local, k.poor_local, k.poor_official, k.poor_official,
           k.fakir_miskin, k.miskin, k.rentan, k.verified, k.target, k.target_verified,
           k.pkh, k.bpnt, k.pbi_jk, k.bpjs_tk, k.local_,
           k.poor_no_pkh, k.poor_no_bpnt, k.poor_no_pbi_jk, k.poor_no_bpjs_tk, k.poor_no_local,
           k.inclusion, k.disagree
    FROM area a
    CROSS JOIN LATERAL (SELECT peta_local_programs(left(a.code, 5)) AS local_codes) lp
    CROSS JOIN LATERAL (
        SELECT COALESCE(sum(h.record_key), 0) AS all_,
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
        FROM household h LEFT JOIN household_rank r ON r.household_id = h.id
        WHERE h.rt_code = a.code
    ) k
    WHERE a.level = 'rt' AND a.code = ANY (codes);
END $$;
