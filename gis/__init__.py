"""The spatial data layer (async): collections and items, CQL2, exports, tiles, figures, disclosure, ranking, audit."""
