-- A campaign belongs to one kab/kota (issue 16): its targets, coverage, priorities and proposal are that kab/kota's,
-- and two kab/kota in one deployment may each run a "Verval 2026 tahap 1". Campaigns made before are given the
-- kab/kota of their targets, or the one kab/kota loaded; a campaign with neither keeps NULL (it predates the
-- rule and holds no target).

ALTER TABLE campaign ADD COLUMN kota_code text CHECK (kota_code ~ '^\d{2}\.\d{2}$');

UPDATE campaign c SET kota_code = COALESCE(
    (SELECT min(left(t.rt_code, 5)) FROM campaign_target t WHERE t.campaign_id = c.id),
    (SELECT min(code) FROM area WHERE level = 'kota' HAVING count(*) = 1)
);

ALTER TABLE campaign DROP CONSTRAINT campaign_name_key;
ALTER TABLE campaign ADD CONSTRAINT campaign_kota_name_key UNIQUE (kota_code, name);
CREATE INDEX campaign_kota_idx ON campaign (kota_code);
