"""The project's own errors: each carries the CLI exit code and a one-line message for the user.

Every message passes through :func:`azrender.redact.redact`, so an error can never print a secret.
"""

from __future__ import annotations


class AzrenderError(Exception):
    """Base of every error azrender reports to a user (never shown as a traceback)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        from azrender.redact import redact

        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(AzrenderError):
    """Bad arguments, bad frame range, malformed URL or config."""

    exit_code = 2


class SceneError(AzrenderError):
    """A scene file that cannot be read: corrupt, truncated, unknown format, unreadable."""

    exit_code = 2


class MissingAssetsError(AzrenderError):
    """A scene needs files that do not exist; ``missing`` lists them."""

    exit_code = 3

    def __init__(self, message: str, missing: list[str] | tuple[str, ...] = (), **kw):
        super().__init__(message, **kw)
        self.missing = list(missing)


class StoreError(AzrenderError):
    """Storage unreachable, refused, or failing after retries. Says what was and was not moved."""

    exit_code = 4


class JobError(AzrenderError):
    """A job could not be built, submitted, run or found."""

    exit_code = 5


class ValidationError(AzrenderError):
    """A validate hook or a pre-submit check blocked the submission."""

    exit_code = 6
