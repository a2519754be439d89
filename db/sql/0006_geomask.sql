-- Donut geomasking of household points that leave Dinsos under an agreement: each point is moved a
-- distance between rmin and rmax metres (uniform over the ring's area) in a direction drawn from a
-- keyed seed, retried until it lands in the family's own kelurahan; the same seed always gives the
-- same displacement, so repeated requests cannot be averaged back to the true point.
CREATE FUNCTION peta_geomask(p geometry, area geometry, seed text, rmin float8, rmax float8) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    h bytea;
    azimuth float8;
    distance float8;
    q geometry;
BEGIN
    FOR i IN 0..31 LOOP
        h := sha256(convert_to(seed || ':' || i, 'UTF8'));
        azimuth := (get_byte(h, 0) * 256 + get_byte(h, 1)) / 65536.0 * 2 * pi();
        distance := sqrt(rmin ^ 2 + (get_byte(h, 2) * 256 + get_byte(h, 3)) / 65536.0 * (rmax ^ 2 - rmin ^ 2));
        q := ST_SetSRID(ST_Project(p::geography, distance, azimuth)::geometry, 4326);
        IF ST_Covers(area, q) THEN
            RETURN q;
        END IF;
    END LOOP;
    RETURN ST_PointOnSurface(area);  -- a small or thin kelurahan: never the true point
END $$;
