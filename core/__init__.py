"""The small core: errors, settings, levels and codes, CRS, privacy and CSV helpers. Imports nothing of ours."""
