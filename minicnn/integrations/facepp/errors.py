"""The one exception type of the Face++ client."""

from __future__ import annotations

# Server answers worth another try (contract §5.4); everything else is final.
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class FaceppError(Exception):
    """A Face++ call failed: the service refused it, the network failed, or the input was unusable.

    Args:
        status: the HTTP status, or ``None`` when no HTTP answer was received (network error,
            or a problem found on the client before sending).
        error_message: Face++'s ``error_message`` (e.g. ``"INVALID_IMAGE_SIZE: image_file"``)
            or a description of the local problem.
        request_id: the ``request_id`` of the failed call when the service sent one.
        retryable: whether the failure is transient (set by the client for network errors).

    Example:
        >>> err = FaceppError(403, "CONCURRENCY_LIMIT_EXCEEDED", "1,abc")
        >>> err.code, err.retryable
        ('CONCURRENCY_LIMIT_EXCEEDED', True)
    """

    def __init__(
        self,
        status: int | None,
        error_message: str,
        request_id: str | None = None,
        *,
        retryable: bool | None = None,
    ) -> None:
        self.status = status
        self.error_message = error_message
        self.request_id = request_id
        self._retryable = retryable
        super().__init__(str(self))

    @property
    def code(self) -> str:
        """The error code before the first ``:`` (``"INVALID_IMAGE_SIZE"``)."""
        return self.error_message.split(":", 1)[0].strip()

    @property
    def param(self) -> str | None:
        """The detail after the first ``:`` (usually the offending field), if any."""
        parts = self.error_message.split(":", 1)
        return parts[1].strip() if len(parts) == 2 and parts[1].strip() else None

    @property
    def retryable(self) -> bool:
        """True for the transient failures the client retries (contract §5.4)."""
        if self._retryable is not None:
            return self._retryable
        if self.status in _RETRYABLE_STATUS:
            return True
        if self.status == 403:
            return self.code == "CONCURRENCY_LIMIT_EXCEEDED"
        if self.status == 412:
            return self.code == "IMAGE_DOWNLOAD_TIMEOUT"
        return False

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no HTTP response"
        text = f"Face++ error ({where}): {self.error_message}"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"FaceppError(status={self.status!r}, error_message={self.error_message!r}, "
            f"request_id={self.request_id!r})"
        )

    def __reduce__(self):  # keep the error picklable despite the keyword-only argument
        return (_rebuild, (self.status, self.error_message, self.request_id, self._retryable))


def _rebuild(status, error_message, request_id, retryable) -> FaceppError:
    return FaceppError(status, error_message, request_id, retryable=retryable)
