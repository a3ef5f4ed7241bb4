"""The ``.txt`` output: display text, one phrase per line, in time order.

A line is ``[HH:MM:SS] [ch1] Speaker 2: words`` where each part is there only when it applies:
the time prefix when asked (``timestamps=True``, the phrase's start, truncated to the second),
the channel tag when the recording's channels were recognized separately (their phrases are
interleaved by start time), the speaker when the transcript was diarized. Phrases with no display
text are left out; a transcript without speech is an empty file.
"""

from __future__ import annotations

from batchscribe.engines.base import Transcript
from batchscribe.outputs.labels import has_several_channels, text_prefix
from batchscribe.outputs.timefmt import clock


def render_text(transcript: Transcript, *, timestamps: bool = False) -> str:
    phrases = sorted(transcript.phrases, key=lambda p: (p.offset_ticks, p.channel))
    tag_channel = has_several_channels(phrases)
    lines = []
    for phrase in phrases:
        words = " ".join(phrase.display.split())  # one line per phrase, whatever the engine sent
        if not words:
            continue
        time = f"[{clock(phrase.offset_ticks)}] " if timestamps else ""
        lines.append(f"{time}{text_prefix(phrase, tag_channel=tag_channel)}{words}")
    return "".join(f"{line}\n" for line in lines)
