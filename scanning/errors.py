"""Exceptions raised by :mod:`scanning`."""

from __future__ import annotations

__all__ = [
    "ScanningError",
    "UnreadableImageError",
    "UnsupportedFormatError",
    "ImageTooLargeError",
]


class ScanningError(Exception):
    """Base class of every error :func:`scanning.decode` raises for bad input."""


class UnreadableImageError(ScanningError):
    """The bytes are not an image, or the image is truncated or corrupt."""


class UnsupportedFormatError(ScanningError):
    """The bytes are an image in a format other than JPEG, PNG or WebP.

    Attributes
    ----------
    format : str
        The detected format name, e.g. ``"GIF"``.
    """

    def __init__(self, format_name: str, message: str | None = None) -> None:
        super().__init__(
            message or f"unsupported image format {format_name}; expected JPEG, PNG or WebP"
        )
        self.format = format_name


class ImageTooLargeError(ScanningError):
    """The image (or the byte string) exceeds the configured limits.

    Raised from the header, before any pixel is decoded.

    Attributes
    ----------
    width, height : int
        Pixel dimensions declared by the header (0 if the byte limit was hit).
    limit : int
        The limit that was exceeded (pixels or bytes).
    """

    def __init__(self, message: str, *, width: int = 0, height: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.width = width
        self.height = height
        self.limit = limit
