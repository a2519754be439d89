"""Registry families: where they live, how deprived they are, BPS criteria, desil, programmes, verval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy_free_stats import probit  # noqa: F401  (placeholder, replaced below)
