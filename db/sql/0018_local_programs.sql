-- Local programmes are configuration (issue 15): a kab/kota lists its own programmes (Kota Jambi's Kartu
-- Bahagia, another city's card) in peta_config 'programs' (local: [{code, name}]), beside the national
-- PKH, BPNT, PBI-JK and BPJS-TK that keep a column each. Their recipients are counted together:
--   recipients_local    active families receiving at least one configured local programme;
--   poor_without_local  active BPS-poor families receiving none of them (0 while none is configured:
--                       with no local programme there is nothing to be without).
-- The columns were recipients_kartu_bahagia and poor_without_kartu_bahagia, one city's programme in the
-- schema. A database that already holds families receiving it keeps counting them: the upgrade lists it.

INSERT INTO peta_config (key, value)
SELECT 'programs', jsonb_build_object('local', CASE
    WHEN EXISTS (SELECT 1 FROM household WHERE 'KARTU-BAHAGIA' = ANY (programs))
    THEN jsonb_build_array(jsonb_build_object('code', 'KARTU-BAHAGIA', 'name', 'Kartu Bahagia'))
    ELSE '[]'::jsonb END)
ON CONFLICT (key) DO NOTHING;

-- The codes of the configured local programmes.
CREATE FUNCTION peta_local_programs() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(ARRAY(SELECT p ->> 'code' FROM peta_config c, jsonb_array_elements(c.value -> 'local') p
                          WHERE c.key = 'programs'), '{}')
$$;

ALTER TABLE area_stats RENAME COLUMN recipients_kartu_bahagia TO recipients_local;
ALTER TABLE area_stats RENAME COLUMN poor_without_kartu_bahagia TO poor_without_local;
ALTER TABLE area_cell_key RENAME COLUMN recipients_kartu_bahagia TO recipients_local;
ALTER TABLE area_cell_key RENAME COLUMN poor_without_kartu_bahagia TO poor_without_local;
ALTER TABLE area_stats_public RENAME COLUMN recipients_kartu_bahagia TO recipients_local;
ALTER TABLE area_stats_public RENAME COLUMN poor_without_kartu_bahagia TO poor_without_local;
ALTER VIEW area_figures RENAME COLUMN recipients_kartu_bahagia TO recipients_local;
ALTER VIEW area_figures RENAME COLUMN poor_without_kartu_bahagia TO poor_without_local;

-- Aggregates of the given RTs (all when NULL) from their families (0002's, with the local programmes read
-- from the configuration; the columns are named, so a later column cannot shift them).
CREATE OR REPLACE FUNCTION peta_stats_rt(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bps float8 := peta_cfg('ranking', 'bps_poor_min');
    poor_max float8 := peta_cfg('aggregates', 'poor_desil_max');
    target_max float8 := peta_cfg('aggregates', 'target_desil_max');
    incl_min float8 := peta_cfg('aggregates', 'inclusion_desil_min');
    gap float8 := peta_cfg('aggregates', 'desil_gap');
    local text[] := peta_local_programs();
    any_local boolean := cardinality(peta_local_programs()) > 0;
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
           count(h.id) FILTER (WHERE h.active AND h.programs && local),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PKH' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPNT' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'PBI-JK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE h.active AND h.bps_count >= bps AND NOT 'BPJS-TK' = ANY (h.programs)),
           count(h.id) FILTER (WHERE any_local AND h.active AND h.bps_count >= bps AND NOT (h.programs && local)),
           count(h.id) FILTER (WHERE h.active AND h.desil_resmi >= incl_min AND cardinality(h.programs) > 0),
           count(h.id) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap),
           now()
    FROM area a
    LEFT JOIN household h ON h.rt_code = a.code
    LEFT JOIN household_rank r ON r.household_id = h.id
    WHERE a.level = 'rt' AND (rts IS NULL OR a.code IN (SELECT unnest(rts)))
    GROUP BY a.code, a.population;
END $$;

-- Keys of the given RTs (all when NULL): the same sets of families as peta_stats_rt counts (0011's, with
-- the local programmes from the configuration and named columns).
CREATE OR REPLACE FUNCTION peta_stats_keys_rt(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bps float8 := peta_cfg('ranking', 'bps_poor_min');
    poor_max float8 := peta_cfg('aggregates', 'poor_desil_max');
    target_max float8 := peta_cfg('aggregates', 'target_desil_max');
    incl_min float8 := peta_cfg('aggregates', 'inclusion_desil_min');
    gap float8 := peta_cfg('aggregates', 'desil_gap');
    local text[] := peta_local_programs();
    any_local boolean := cardinality(peta_local_programs()) > 0;
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
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.programs && local), 0) AS local_,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PKH' = ANY (h.programs)), 0) AS poor_no_pkh,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPNT' = ANY (h.programs)), 0) AS poor_no_bpnt,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PBI-JK' = ANY (h.programs)), 0) AS poor_no_pbi_jk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPJS-TK' = ANY (h.programs)), 0) AS poor_no_bpjs_tk,
               COALESCE(sum(h.record_key) FILTER (WHERE any_local AND h.active AND h.bps_count >= bps
                                                   AND NOT (h.programs && local)), 0) AS poor_no_local,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.desil_resmi >= incl_min
                                                   AND cardinality(h.programs) > 0), 0) AS inclusion,
               COALESCE(sum(h.record_key) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap), 0) AS disagree
        FROM household h LEFT JOIN household_rank r ON r.household_id = h.id
        WHERE h.rt_code = a.code
    ) k
    WHERE a.level = 'rt' AND a.code = ANY (codes);
END $$;

-- peta_publish is written out from the key columns (0011); written again here, as a function a later
-- migration that renames or adds a column can call too.
CREATE FUNCTION peta_make_publish() RETURNS void
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
BEGIN
    DELETE FROM area_stats_public WHERE code = ANY (codes);
    INSERT INTO area_stats_public
    WITH n AS (
        SELECT f.code, f.level, f.population, f.last_verval, f.expected_poor_people, %1$s
        FROM area_figures f JOIN area_cell_key k ON k.code = f.code
        WHERE f.code = ANY (codes)
    ), v AS (
        SELECT n.code, n.level, n.population, n.last_verval, n.expected_poor_people, %2$s FROM n
    )
    SELECT v.code, v.level, v.population, %3$s, v.last_verval,
           round(100.0 * v.poor_bps_people / NULLIF(v.population, 0), 2),
           v.expected_poor_people,
           v.expected_poor_people - v.poor_bps_people,
           peta_pct(v.verified_families, v.families),
           peta_pct(v.target_verified, v.target_families),
           array_remove(ARRAY[%4$s]::text[], NULL)
    FROM v;
END $$ $f$, noisy, shown, cols, hidden);
END $do$;

SELECT peta_make_publish();
