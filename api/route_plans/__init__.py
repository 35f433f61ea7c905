from .schemas import RouteIssueSchema
from .views import blp

__all__ = ["RouteIssueSchema", "blp"]
