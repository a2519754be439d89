"""Boundary files in, areas out: reading, validation, repair, topology reports, derived areas, the demo city."""
