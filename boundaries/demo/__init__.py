"""The deterministic synthetic demo city: areas of every level and registry families, calibrated to DOMAIN.md."""

from boundaries.demo.config import AreaRecord, City, DemoConfig, Households
from boundaries.demo.generate import generate_city
from boundaries.demo.load import load_city

__all__ = ["AreaRecord", "City", "DemoConfig", "Households", "generate_city", "load_city"]
