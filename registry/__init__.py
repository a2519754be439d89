"""Registry household files (CSV, XLSX): column mapping, streaming reader and row validation, no database."""

from registry.mapping import Mapping, load_mapping
from registry.rows import PROGRESS_EVERY, read_households
from registry.validate import Household, RowIssue

__all__ = ["PROGRESS_EVERY", "Household", "Mapping", "RowIssue", "load_mapping", "read_households"]
