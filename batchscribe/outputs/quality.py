"""Signs that a transcript deserves a human look, in words a reviewer understands.

These are warnings, not errors: the file was transcribed. The runner can store them in
``FileResult.warnings``; the per-file JSON carries them in ``batchscribe.warnings`` and the report
lists them. Each warning starts with a stable phrase (the ``*_WARNING`` constants) so tools can
group them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from batchscribe.engines.base import TICKS_PER_SECOND, Transcript
from batchscribe.outputs.timefmt import clock, ticks_from_seconds

if TYPE_CHECKING:  # an annotation only: the CLI starts without PyAV
    from batchscribe.audio import AudioInfo

NO_SPEECH_WARNING = "no speech recognized"
ENDS_EARLY_WARNING = "transcript ends long before the audio"
LOW_CONFIDENCE_WARNING = "low average confidence"
# What report/triage.py judges too: the report shows these under its flags, not twice.
TRIAGED_WARNINGS = (NO_SPEECH_WARNING, ENDS_EARLY_WARNING, LOW_CONFIDENCE_WARNING)
PLACEHOLDER_WARNING = (
    "placeholder text: the emulator has no script for this recording"
    " (record one with 'batchscribe emulator script add')"
)


@dataclass(frozen=True)
class QualityThresholds:
    """When a transcript deserves a look: the one place for the defaults (README, "Quality triage").

    A run's ``quality:`` settings block overrides any of them; ``report/triage.py`` applies them to
    each per-file JSON, the warnings below use the same numbers.
    """

    low_confidence: float = 0.5  # mean word confidence below this: flagged (medium)
    very_low_confidence: float = 0.3  # below this: flagged high
    low_word_confidence: float = 0.4  # a word below this counts as a doubtful word ...
    low_word_share: float = 0.3  # ... and this share of doubtful words (of 20 or more) is flagged
    silent_gap_s: float = 120.0  # this long without a phrase, inside the audio: flagged (low)
    ends_early_s: float = 60.0  # recordings often end in hold music or silence: only a tail this
    ends_early_share: float = 0.2  # long and this large a share of the audio is flagged (medium)
    min_words_per_minute: float = 60.0  # speech rate outside these bounds, over ...
    max_words_per_minute: float = 250.0
    rate_min_speech_s: float = 30.0  # ... at least this much speech, is flagged (low)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_THRESHOLDS = QualityThresholds()
LOW_CONFIDENCE_BELOW = DEFAULT_THRESHOLDS.low_confidence
ENDS_EARLY_MIN_GAP_S = DEFAULT_THRESHOLDS.ends_early_s
ENDS_EARLY_MIN_SHARE = DEFAULT_THRESHOLDS.ends_early_share


def average_confidence(transcript: Transcript) -> float | None:
    """Confidence weighted by phrase duration (a one-word 'uh' counts little); None if unknown."""
    weighted = 0.0
    total = 0
    for phrase in transcript.phrases:
        if phrase.confidence is None:
            continue
        weight = max(phrase.duration_ticks, 1)
        weighted += phrase.confidence * weight
        total += weight
    return weighted / total if total else None


def low_confidence_warning(confidence: float) -> str:
    return f"{LOW_CONFIDENCE_WARNING} ({confidence:.2f})"


def transcript_warnings(transcript: Transcript, audio: AudioInfo) -> tuple[str, ...]:
    """The engine's own warnings, then ours: no speech, an early end, low confidence."""
    warnings = list(transcript.warnings)
    if any(p.placeholder for p in transcript.phrases):
        warnings.append(PLACEHOLDER_WARNING)
    spoken = [p for p in transcript.phrases if p.display.strip()]
    if not spoken:
        warnings.append(NO_SPEECH_WARNING)
    else:
        last_end = max(p.end_ticks for p in spoken)
        audio_ticks = ticks_from_seconds(audio.duration_s)
        gap_s = (audio_ticks - last_end) / TICKS_PER_SECOND
        if gap_s >= ENDS_EARLY_MIN_GAP_S and gap_s >= ENDS_EARLY_MIN_SHARE * audio.duration_s:
            warnings.append(
                f"{ENDS_EARLY_WARNING}: last phrase ends at {clock(last_end)},"
                f" the audio runs to {clock(audio_ticks)}"
            )
    confidence = average_confidence(transcript)
    if confidence is not None and confidence < LOW_CONFIDENCE_BELOW:
        warnings.append(low_confidence_warning(confidence))
    return tuple(dict.fromkeys(warnings))  # keep order, drop repeats
