"""PostGIS layer: settings, connections, schema, spatial queries."""
