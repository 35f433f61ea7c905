"""The dispatcher console: server-rendered pages and small JSON endpoints under
``/console``, for dispatchers and admins, on a signed session cookie with a CSRF token.

Kept import-light (the blueprint lives in ``api.console.views``) so that the public
tracking page can import :mod:`api.console.labels` without pulling the console in."""
