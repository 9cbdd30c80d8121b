"""One keep-alive HTTP session to one of the provider's endpoints: https only, unless allowed for local use."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from smsdrop.provider.credentials import Credentials
from smsdrop.provider.signing import signed_headers


class ProviderHttp:
    """The session, URL, credentials and clock shared by the provider's clients; `adapter` replaces the pooled
    one (tests)."""

    def __init__(
        self,
        base_url: str,
        path: str,
        credentials: Callable[[], Credentials],
        clock: Callable[[], float],
        *,
        allow_http: bool,
        pool_size: int,
        adapter: BaseAdapter | None,
    ) -> None:
        scheme = urlsplit(base_url).scheme
        if scheme != "https" and not (scheme == "http" and allow_http):
            raise ValueError(
                f"gateway URL {base_url!r} must use https; plain http is allowed only with "
                "allow_http=True (GATEWAY_ALLOW_HTTP), for a local simulator"
            )
        self.url = base_url.rstrip("/") + path
        self._credentials = credentials
        self._clock = clock
        self._session = requests.Session()
        self._session.mount(self.url, adapter or HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0))

    def _signed(self) -> tuple[Credentials, dict[str, str]]:
        """The current credentials and headers signed for now: asked for afresh by every attempt, so a retry
        carries a new timestamp and a rotated secret is used."""
        credentials = self._credentials()
        return credentials, signed_headers(credentials.api_key, credentials.api_secret, int(self._clock()))

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
