from .views import api_blp, page_bp

__all__ = ["api_blp", "page_bp"]
