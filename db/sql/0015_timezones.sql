-- The local time zone of an area, from its code (issue 15): Indonesia has three, and a visit's day, a campaign's
-- "today" and the berita acara's dates are the kab/kota's own. The province (the code's first two digits,
-- Kemendagri) decides: WIB for Sumatra, Java, West and Central Kalimantan; WITA for Bali, Nusa Tenggara, South,
-- East and North Kalimantan and Sulawesi; WIT for Maluku and Papua (the 2022 provinces 93-96 included). A code
-- of no known province (or none) takes WIB, the capital's zone.

CREATE FUNCTION peta_timezone(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN left(code, 2) IN ('51', '52', '53', '63', '64', '65', '71', '72', '73', '74', '75', '76')
            THEN 'Asia/Makassar'
        WHEN left(code, 2) IN ('81', '82', '91', '92', '93', '94', '95', '96') THEN 'Asia/Jayapura'
        ELSE 'Asia/Jakarta'
    END;
