-- A user or an agency key may be scoped to a province (issue 16): a provincial Dinas Sosial, or a programme
-- office working across the kab/kota of one province. Its codes are province codes (PP); an area lies inside
-- when its code starts with 'PP.', the same prefix rule as every other scope level (core/scope.py).
ALTER TABLE app_user DROP CONSTRAINT app_user_scope_level_check,
    ADD CONSTRAINT app_user_scope_level_check
        CHECK (scope_level IN ('provinsi', 'kota', 'kecamatan', 'kelurahan', 'rt'));
ALTER TABLE api_key DROP CONSTRAINT api_key_scope_level_check,
    ADD CONSTRAINT api_key_scope_level_check CHECK (scope_level IN ('provinsi', 'kota', 'kecamatan', 'kelurahan'));
