"""Delivery rounds ("tuyến phát"): an office's territories by ward and their couriers."""
from .views import blp

__all__ = ["blp"]
