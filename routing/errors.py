"""Exceptions raised by the :mod:`routing` library.

Only *unusable input* raises. Stops that cannot be served are reported in the
returned :class:`routing.Plan` as unassigned stops with a reason; they are
results, not errors.
"""

from __future__ import annotations

__all__ = [
    "InfeasibleProblemError",
    "InvalidProblemError",
    "MatrixProviderError",
    "ProblemTooLargeError",
    "RoutingError",
]


class RoutingError(Exception):
    """Base class of every exception raised by :mod:`routing`."""


class InvalidProblemError(RoutingError, ValueError):
    """The problem (or solver parameters) failed validation.

    Parameters
    ----------
    path
        Dotted/indexed path of the offending field, e.g.
        ``"stops[3].window.close_s"``. Empty when the error concerns the whole
        object.
    reason
        Human-readable explanation.

    Attributes
    ----------
    path : str
        Path of the offending field.
    reason : str
        Explanation without the path.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)

    def prefixed(self, prefix: str) -> InvalidProblemError:
        """Return a copy of this error whose path starts with ``prefix``.

        Parameters
        ----------
        prefix
            Path of the containing object, e.g. ``"stops[3]"``.

        Returns
        -------
        InvalidProblemError
            Same type as ``self``, with path ``prefix.path``.
        """
        path = f"{prefix}.{self.path}" if self.path else prefix
        return type(self)(path, self.reason)


class ProblemTooLargeError(InvalidProblemError):
    """The problem exceeds the documented size limits (see ``routing.MAX_STOPS``)."""


class InfeasibleProblemError(RoutingError):
    """The problem is valid but unusable as a whole (e.g. no couriers at all).

    Individual infeasible stops never raise this; they are returned as
    unassigned stops with a reason.
    """


class MatrixProviderError(RoutingError):
    """A travel-matrix provider failed (network error, bad response...)."""
