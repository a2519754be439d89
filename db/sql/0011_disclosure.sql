-- Published figures protected by the cell-key method (as the Australian Bureau of Statistics'
-- TableBuilder and the UK's 2021 Census outputs), with small-cell suppression on top.
--
-- Every family carries a secret record key, uniform in [0, 2^32). The key of a published cell is the
-- sum of the record keys of the families it counts, modulo 2^32: the same set of families always gives
-- the same key, whichever query, level, filter or endpoint produced the cell, and any other set gives an
-- unrelated key. The published count is the true count plus a noise read from the key (peta_ckm), so
-- the same cell always shows the same value and the difference of two cells is the true difference
-- plus noise: differencing (overlapping filters, filtered minus unfiltered, parent minus children,
-- linked columns, totals published elsewhere) no longer pins a count. A published count of 1..4 is then
-- suppressed (NULL) as before; people counts are hidden with their family counts.
-- The rule, its guarantee and its cost are in the README ("Disclosure control"); tests/disclosure
-- attacks the demo city with it.

ALTER TABLE household ADD COLUMN record_key bigint NOT NULL DEFAULT floor(random() * 4294967296)::bigint
    CHECK (record_key >= 0 AND record_key < 4294967296);

-- The noisy value of a true count x with cell key ck (a sum of record keys); stream 1 for counts of
-- families, 2 for counts of people (the same set of families, an independent draw). Zero-mean noise:
-- x >= 2 moves by -2..+2 with equal chances; x = 1 becomes 0, 1, 2 or 3 (0.45, 0.20, 0.25, 0.10; mean 1);
-- zero stays zero (no family, nothing to protect).
-- Both are single expressions (no FROM), so that PostgreSQL inlines them into the queries that call
-- them: as separate calls they cost 6 and 166 microseconds a cell, inlined about 0.1.
CREATE FUNCTION peta_ckm_u(ck bigint, stream int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN stream = 1 THEN ck % 4294967296
                 ELSE ((ck % 4294967296) * 4099) % 4294967296 END)::float8 / 4294967296
$$;

CREATE FUNCTION peta_ckm(x bigint, ck bigint, stream int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN x IS NULL THEN NULL
        WHEN x <= 0 THEN x::int
        WHEN x = 1 THEN CASE WHEN peta_ckm_u(ck, stream) < 0.45 THEN 0 WHEN peta_ckm_u(ck, stream) < 0.65 THEN 1
                             WHEN peta_ckm_u(ck, stream) < 0.90 THEN 2 ELSE 3 END
        ELSE (x + floor(peta_ckm_u(ck, stream) * 5) - 2)::int
    END
$$;

-- A published count: the noisy value, NULL when it is 1..4.
CREATE FUNCTION peta_shown(x bigint, ck bigint, stream int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN peta_ckm(x, ck, stream) BETWEEN 1 AND 4 THEN NULL ELSE peta_ckm(x, ck, stream) END
$$;

-- A share in % of two published counts (at most 100: both are noisy), NULL when either is hidden.
CREATE FUNCTION peta_pct(part bigint, whole bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN part IS NULL OR whole IS NULL OR whole = 0 THEN NULL
                ELSE round(100.0 * least(part, whole) / whole, 2) END
$$;

-- A count of people is published beside the count of the same families only where that count (as
-- shown) is at least 7, so that its families are certainly more than 4 (the noise moves a count by 2 at
-- most): people beside a small count would tell how many families there are (7 people: one family of 7).
-- Beside a shown 0 it is 0, beside anything else hidden; it carries its own draw of noise.
CREATE FUNCTION peta_people_shown(people int, families int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN families IS NULL THEN NULL WHEN families = 0 THEN 0 WHEN families < 7 THEN NULL
                WHEN people BETWEEN 1 AND 4 THEN NULL ELSE people END
$$;

-- Which family count each people count belongs to (the same families): hidden together.
CREATE FUNCTION peta_people_of(col text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE col WHEN 'people' THEN 'families' WHEN 'poor_bps_people' THEN 'poor_bps_families'
                    WHEN 'poor_local_people' THEN 'poor_local_families'
                    WHEN 'poor_official_people' THEN 'poor_official_families' END
$$;

-- Cell keys of every count of area_stats, same columns, summed from RTs up like the counts.
DO $$
BEGIN
    EXECUTE (
        SELECT 'CREATE TABLE area_cell_key (code text PRIMARY KEY REFERENCES area (code) ON DELETE CASCADE,'
               || ' level text NOT NULL, '
               || string_agg(format('%I bigint NOT NULL', column_name), ', ' ORDER BY ordinal_position) || ')'
        FROM information_schema.columns
        WHERE table_name = 'area_stats' AND table_schema = current_schema()
          AND data_type = 'integer' AND column_name <> 'population');
END $$;
CREATE INDEX area_cell_key_level_idx ON area_cell_key (level, code);

-- The key columns, in table order (the catalogue, not information_schema: this runs on every refresh).
CREATE FUNCTION peta_key_columns() RETURNS TABLE (attname text, attnum smallint)
LANGUAGE sql STABLE AS $$
    SELECT a.attname::text, a.attnum FROM pg_attribute a
    WHERE a.attrelid = 'area_cell_key'::regclass AND a.atttypid = 'int8'::regtype AND a.attnum > 0
      AND NOT a.attisdropped
$$;

-- Keys of the given RTs (all when NULL): the same sets of families as peta_stats_rt counts.
CREATE FUNCTION peta_stats_keys_rt(rts text[]) RETURNS void
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
    INSERT INTO area_cell_key
    SELECT a.code, 'rt', k.all_, k.all_,
           k.removed, k.poor_bps, k.poor_bps, k.poor_local, k.poor_local, k.poor_official, k.poor_official,
           k.fakir_miskin, k.miskin, k.rentan, k.verified, k.target, k.target_verified,
           k.pkh, k.bpnt, k.pbi_jk, k.bpjs_tk, k.kartu_bahagia,
           k.poor_no_pkh, k.poor_no_bpnt, k.poor_no_pbi_jk, k.poor_no_bpjs_tk, k.poor_no_kartu_bahagia,
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
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND 'KARTU-BAHAGIA' = ANY (h.programs)), 0)
                   AS kartu_bahagia,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PKH' = ANY (h.programs)), 0) AS poor_no_pkh,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPNT' = ANY (h.programs)), 0) AS poor_no_bpnt,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'PBI-JK' = ANY (h.programs)), 0) AS poor_no_pbi_jk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'BPJS-TK' = ANY (h.programs)), 0) AS poor_no_bpjs_tk,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.bps_count >= bps
                                                   AND NOT 'KARTU-BAHAGIA' = ANY (h.programs)), 0)
                   AS poor_no_kartu_bahagia,
               COALESCE(sum(h.record_key) FILTER (WHERE h.active AND h.desil_resmi >= incl_min
                                                   AND cardinality(h.programs) > 0), 0) AS inclusion,
               COALESCE(sum(h.record_key) FILTER (WHERE abs(r.local_desil - h.desil_resmi) >= gap), 0) AS disagree
        FROM household h LEFT JOIN household_rank r ON r.household_id = h.id
        WHERE h.rt_code = a.code
    ) k
    WHERE a.level = 'rt' AND a.code = ANY (codes);
END $$;

-- Keys of the areas above RT: sums of their RTs' keys (by code prefix), for the ancestors of the
-- given RTs (every area when NULL).
CREATE FUNCTION peta_stats_keys_rollup(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lv record;
    sums text;
    cols text;
BEGIN
    SELECT string_agg(format('COALESCE(sum(s.%1$I), 0)::bigint', attname), ', ' ORDER BY attnum),
           string_agg(quote_ident(attname), ', ' ORDER BY attnum)
      INTO sums, cols
      FROM peta_key_columns();
    FOR lv IN SELECT * FROM (VALUES ('rw', 17), ('kelurahan', 13), ('kecamatan', 8), ('kota', 5)) v(level, n) LOOP
        EXECUTE format(
            'DELETE FROM area_cell_key WHERE level = %L AND ($1 IS NULL OR code IN (SELECT left(x, %s) FROM unnest($1) x))',
            lv.level, lv.n) USING rts;
        EXECUTE format(
            'INSERT INTO area_cell_key (code, level, %s)
             SELECT a.code, a.level, %s
             FROM area a LEFT JOIN area_cell_key s ON s.level = ''rt'' AND left(s.code, %s) = a.code
             WHERE a.level = %L AND ($1 IS NULL OR a.code IN (SELECT left(x, %s) FROM unnest($1) x))
             GROUP BY a.code, a.level',
            cols, sums, lv.n, lv.level, lv.n) USING rts;
    END LOOP;
END $$;

-- The published figures of the given RTs and their ancestors (every area when NULL). Each cell is
-- independent of its siblings now, so nothing beyond the touched areas is recomputed.
-- Written out here, once, from the key columns, as a function of static SQL: its plan is kept across calls
-- (building and planning the statement on every refresh cost 20 ms; the areas arrive as one array, so the
-- kept plan reaches them by index whether they are a few or all).
DO $do$
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

-- Sum, key and publish together, for every caller of the rollup.
CREATE OR REPLACE FUNCTION peta_stats_rollup(rts text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM peta_stats_sum(rts);
    PERFORM peta_stats_keys_rt(rts);
    PERFORM peta_stats_keys_rollup(rts);
    PERFORM peta_publish(rts);
END $$;

SELECT peta_stats_keys_rt(NULL);
SELECT peta_stats_keys_rollup(NULL);
SELECT peta_publish(NULL);
