"""azure-identity behind one wrapper, so that "no credentials" is one line, said once.

``DefaultAzureCredential`` raises an exception whose message lists every source it tried (13
lines), after logging the same list as a warning, and the SDKs ask again on every retry. This
wrapper asks once, remembers the failure, and raises :class:`CredentialError` naming what the
credential was for and the ways to give one.
"""

from __future__ import annotations

import threading

from azrender.errors import AzrenderError


class CredentialError(AzrenderError):
    """No Azure credential could be found, or the one found was refused when asked for a token."""

    exit_code = 2


class IdentityCredential:
    """A ``get_token`` credential (azure-core's protocol) over ``DefaultAzureCredential``.

    what: what the token is for, in the message (``https://acct.blob.core.windows.net/assets``).
    ways: how else to authenticate for this service (``set AZURE_STORAGE_CONNECTION_STRING...``).
    """

    def __init__(self, what: str, ways: str):
        self.what, self.ways = what, ways
        self._inner = None
        self._failure: CredentialError | None = None
        self._lock = threading.Lock()

    def get_token(self, *scopes, **kwargs):
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import CredentialUnavailableError

        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._inner is None:
                from azure.identity import DefaultAzureCredential

                self._inner = DefaultAzureCredential()
        try:
            return self._inner.get_token(*scopes, **kwargs)
        except CredentialUnavailableError:
            failure = self._unavailable()
        except ClientAuthenticationError as exc:
            # The chain lists one "\tName: reason" line per source it tried; it stops early only
            # when a source that was available refused (expired login, wrong tenant).
            tried = [line.strip() for line in str(exc).splitlines() if line.startswith("\t")]
            if len(tried) >= len(getattr(self._inner, "credentials", ())):
                failure = self._unavailable()
            else:
                reason = tried[-1] if tried else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                failure = CredentialError(f"Azure sign-in for {self.what} failed ({reason}): "
                                          f"run az login again, or {self.ways}")
        with self._lock:
            self._failure = failure
        raise failure from None

    def _unavailable(self) -> CredentialError:
        return CredentialError(f"no Azure credentials for {self.what}: run az login, or {self.ways}")

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
