"""Writing transcripts out: JSON, plain text, SRT and WebVTT."""

from __future__ import annotations

import json

from transcribe.types import Segment, Transcript

__all__ = ["FORMATS", "write_transcript"]

#: The formats :func:`write_transcript` knows.
FORMATS = ("json", "txt", "srt", "vtt")


def _clock(seconds: float, separator: str) -> str:
    millis = max(int(round(seconds * 1000)), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _short_clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _caption(segment: Segment) -> str:
    text = segment.text.replace("-->", "->")
    return f"{segment.speaker}: {text}" if segment.speaker else text


def _txt(transcript: Transcript) -> str:
    lines = []
    for s in transcript.segments:
        who = f" {s.speaker}" if s.speaker else ""
        flags = f"  [{', '.join(s.flags)}]" if s.flags else ""
        lines.append(f"[{_short_clock(s.start)}-{_short_clock(s.end)}]{who}: {s.text}{flags}")
    if transcript.translation:
        lines += ["", "English translation:"]
        lines += [
            f"[{_short_clock(s.start)}-{_short_clock(s.end)}]"
            f"{' ' + s.speaker if s.speaker else ''}: {s.text}"
            for s in transcript.translation
        ]
    return "\n".join(lines) + "\n"


def _srt(transcript: Transcript) -> str:
    blocks = [
        f"{i}\n{_clock(s.start, ',')} --> {_clock(max(s.end, s.start + 0.001), ',')}\n"
        f"{_caption(s)}\n"
        for i, s in enumerate(transcript.segments, 1)
    ]
    return "\n".join(blocks)


def _vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for s in transcript.segments:
        end = max(s.end, s.start + 0.001)
        # Escaping < and > also keeps "-->" out of the cue text.
        text = s.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        cue = f"<v {s.speaker}>{text}" if s.speaker else text
        blocks.append(f"{s.id}\n{_clock(s.start, '.')} --> {_clock(end, '.')}\n{cue}\n")
    return "\n".join(blocks)


def write_transcript(transcript: Transcript, fmt: str) -> str:
    """Render a transcript as text in one of :data:`FORMATS`.

    Args:
        transcript: The transcript.
        fmt: ``"json"`` (the whole :class:`Transcript`, readable back with
            ``Transcript.from_dict``), ``"txt"`` (speakers and times), ``"srt"`` or
            ``"vtt"`` (subtitles).

    Returns:
        The rendered text.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt == "json":
        return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        return _txt(transcript)
    if fmt == "srt":
        return _srt(transcript)
    if fmt == "vtt":
        return _vtt(transcript)
    raise ValueError(f"Unknown transcript format '{fmt}'; choose one of {', '.join(FORMATS)}.")
