"""Errors raised by the transcription package."""

from __future__ import annotations

from policies.errors import BadInput

__all__ = ["AudioError"]


class AudioError(BadInput):
    """A recording cannot be transcribed; the message names the file and the problem."""
