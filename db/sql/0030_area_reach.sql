-- Where each kab/kota's families can lie (issue 16), so that a bbox or a tile is routed to the kab/kota it can
-- hold before any family is read: on Citus, one city's map is then answered by its shard group alone.
--
-- A family's point lies in its kab/kota's boundary box, or in the box `area_reach` keeps for that kab/kota
-- when some of its points lie beyond it (a point placed within placement.tolerance_m of an RT, a row whose
-- RT code is trusted over its point, a boundary re-drawn smaller). The imports grow the box before they write;
-- the statement trigger below refuses any other write that would leave a point outside it, so the routing never
-- misses a family.
CREATE TABLE area_reach (
    code text PRIMARY KEY,
    extent geometry(Geometry, 4326) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE area_reach IS
    'Per kab/kota (area code), a box holding every family point that lies beyond the boundary''s own box';

-- The transition rows are first reduced to one box per kab/kota (Citus plans no join of them with a reference
-- table inside a shard's trigger); a kab/kota whose box is not held is then searched for the point to name.
CREATE FUNCTION peta_reach_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kotas text[];
    boxes geometry[];
    bounds geometry;
    held geometry;
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(kota_code), array_agg(box) INTO kotas, boxes
          FROM (SELECT n.kota_code, ST_SetSRID(ST_Extent(n.geom)::geometry, 4326) AS box FROM new_rows n
                 WHERE n.geom IS NOT NULL GROUP BY 1) x;
    ELSE  -- only the points moved (an update of other columns leaves a family where it was)
        SELECT array_agg(kota_code), array_agg(box) INTO kotas, boxes
          FROM (SELECT n.kota_code, ST_SetSRID(ST_Extent(n.geom)::geometry, 4326) AS box
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE n.geom IS NOT NULL AND (o.geom IS DISTINCT FROM n.geom OR o.kota_code <> n.kota_code)
                 GROUP BY 1) x;
    END IF;
    FOR i IN 1..COALESCE(cardinality(kotas), 0) LOOP
        bounds := (SELECT ST_Envelope(a.geom) FROM area a WHERE a.code = kotas[i] AND a.level = 'kota');
        held := (SELECT r.extent FROM area_reach r WHERE r.code = kotas[i]);
        IF bounds IS NOT NULL AND (bounds ~ boxes[i] OR COALESCE(held ~ boxes[i], false)) THEN
            CONTINUE;
        END IF;
        SELECT n.id, ST_X(n.geom) AS x, ST_Y(n.geom) AS y INTO bad FROM new_rows n
         WHERE n.kota_code = kotas[i] AND n.geom IS NOT NULL
           AND (bounds IS NULL OR NOT (bounds ~ n.geom OR COALESCE(held ~ n.geom, false)))
         ORDER BY n.id LIMIT 1;
        IF NOT FOUND THEN
            CONTINUE;  -- every point in one of the two boxes
        ELSIF bounds IS NULL THEN
            RAISE EXCEPTION 'family % of kab/kota %: a point, but no boundary of its kab/kota is loaded'
                            ' (peta boundaries import)', bad.id, kotas[i] USING ERRCODE = 'check_violation';
        END IF;
        RAISE EXCEPTION 'family % of kab/kota %: its point (%, %) lies outside the box its kab/kota''s families'
                        ' are routed by (area_reach); grow it first, as the imports do', bad.id, kotas[i],
                        round(bad.x::numeric, 6), round(bad.y::numeric, 6) USING ERRCODE = 'check_violation';
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER household_reach_insert AFTER INSERT ON household REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_reach_check();
CREATE TRIGGER household_reach_update AFTER UPDATE ON household REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION peta_reach_check();

-- Grow a kab/kota's box so that it holds `extent` too (the imports call this before writing their families, and
-- the boundary import before it redraws a kab/kota: the box then keeps the old boundary's).
CREATE FUNCTION peta_reach_grow(kota text, extent geometry) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    bounds geometry := (SELECT a.geom FROM area a WHERE a.code = kota AND a.level = 'kota');
    held geometry;
BEGIN
    extent := ST_SetSRID(extent, 4326);  -- a box2d cast to geometry (ST_Extent) comes without its SRID
    IF bounds IS NULL OR extent IS NULL OR bounds ~ extent THEN
        RETURN;  -- no boundary (the trigger refuses its points), nothing to hold, or held by the boundary's box
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('peta_reach:' || kota));  -- two imports grow it one after the other
    held := (SELECT r.extent FROM area_reach r WHERE r.code = kota);
    IF held ~ extent THEN
        RETURN;
    END IF;
    -- the new box computed here: Citus takes only values in an upsert's DO UPDATE
    held := ST_Envelope(ST_Collect(ARRAY[ST_Envelope(bounds), COALESCE(held, ST_Envelope(bounds)), extent]));
    INSERT INTO area_reach AS r (code, extent, updated_at) VALUES (kota, held, now())
    ON CONFLICT (code) DO UPDATE SET extent = EXCLUDED.extent, updated_at = EXCLUDED.updated_at;
END $$;
