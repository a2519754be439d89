"""The database itself: where it is and how to reach it, embedded clusters, the schema and its migrations."""
