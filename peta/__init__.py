"""The `peta` command: a thin shell over gis/, boundaries/ and api/."""
