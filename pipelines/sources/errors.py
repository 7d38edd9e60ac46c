"""Errors raised while getting raw files from data sources.

Every error carries the source, vintage, file name and URL (or local path)
it is about, so that the message tells the user what failed and where.
"""

from __future__ import annotations


class SourceError(Exception):
    """Base class for problems with a source file.

    ``detail`` says what went wrong and, when possible, what to do about it;
    the context (source, vintage, file, URL or path) is added in front of it.
    """

    def __init__(
        self,
        detail: str,
        *,
        source: str | None = None,
        vintage: str | None = None,
        file_name: str | None = None,
        url: str | None = None,
    ) -> None:
        self.detail = detail
        self.source = source
        self.vintage = vintage
        self.file_name = file_name
        self.url = url
        super().__init__(self._message())

    def _message(self) -> str:
        subject = " ".join(part for part in (self.source, self.vintage) if part)
        if self.file_name:
            subject = f"{subject}, file {self.file_name}" if subject else f"file {self.file_name}"
        if self.url:
            subject = f"{subject}, from {self.url}" if subject else f"from {self.url}"
        if not subject:
            return self.detail
        return f"{subject}: {self.detail}"


class FetchError(SourceError):
    """A download failed: network error, HTTP error, truncated or oversized body."""


class UnexpectedContentError(FetchError):
    """The file received is not what was expected (an HTML page, a JSON error...)."""


class ArchiveError(SourceError):
    """An archive is unsafe (path traversal, links), too large, corrupt or lacks a member."""

    def __init__(self, detail: str, *, archive: object = None, member: str | None = None, **context) -> None:
        self.archive = archive
        self.member = member
        super().__init__(detail, **context)
