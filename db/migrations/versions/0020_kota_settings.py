"""Settings of one kab/kota: its own poverty rate and local programmes over the deployment's (issue 16).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from alembic import op

from db.migrations import function_sql, run_sql_file

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0020_kota_settings.sql")
    op.execute("SELECT peta_audit_seal()")  # the setting's audit row is sealed into the chain at once


# the view as 0018 left it: one rate for the deployment
_VIEW = """
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
       round(s.population * c.rate)::int AS expected_poor_people,
       round(s.population * c.rate)::int - s.poor_bps_people AS under_coverage_people,
       round(100.0 * s.verified_families / NULLIF(s.families, 0), 2) AS coverage_pct,
       round(100.0 * s.target_verified / NULLIF(s.target_families, 0), 2) AS target_coverage_pct,
       '{}'::text[] AS suppressed
FROM area_stats s
CROSS JOIN (SELECT peta_cfg('aggregates', 'city_poverty_rate') AS rate) c;
"""


def downgrade() -> None:
    for name in ("peta_stats_rt", "peta_stats_keys_rt"):
        op.get_bind().exec_driver_sql(function_sql(name, "0018_local_programs.sql"))
    op.get_bind().exec_driver_sql(_VIEW)
    op.execute("DROP FUNCTION peta_local_programs(text), peta_poverty_rate(text), peta_all_local_programs()")
    op.execute("DELETE FROM peta_config WHERE key = 'kab_kota'")
    op.execute("SELECT peta_stats_rt(NULL)")
    op.execute("SELECT peta_stats_rollup(NULL)")
