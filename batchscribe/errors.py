"""The one exception tree of batchscribe.

Every error batchscribe raises on purpose is a ``BatchscribeError``. Each carries a ``hint``
(what the user should do about it) and the ``exit_code`` the CLI ends with when it escapes a run::

    BatchscribeError                    hint, exit_code
    ├── UsageError                      exit 2: bad option, bad config, missing credentials
    │   └── JobsFileError               exit 2: jobs.yaml invalid (file, line, field, fix)
    ├── RunAbortedError                 exit 3: the run cannot go on at all
    │   ├── LockHeldError               another run holds the output folder
    │   └── OutOfDiskError              no room to write outputs
    └── FileError                       one recording failed; recorded per file, never fatal
        ├── FileCancelled               stopped by an interrupt, an abort or a time limit
        ├── AudioError                  the file cannot be read or decoded (permanent)
        └── EngineError                 the recognizer failed; carries the SDK code and text
            ├── TransientEngineError    retry it (throttling, network, stall, 5xx)
            ├── PermanentEngineError    retrying cannot help (bad request, unsupported audio)
            └── FatalEngineError        stop the whole run (authentication, forbidden) -> exit 3
    └── SummaryError                    a recording's summary (Azure OpenAI) failed; its transcript stays done
        ├── SummaryRefused              the content filter refused it: a warning, not sent again unchanged
        └── SummariesStopped            no summary can succeed this run (credentials, deployment): one line

Per-file failures are *recorded* in the run result, not raised out of the runner; only
``UsageError`` and ``RunAbortedError`` (and ``FatalEngineError``, which the runner turns into a
``RunAbortedError``) end a run.

An ``OSError`` met while running becomes one of these in one place, at the end of this module:
``source_error`` (the recording vanished or cannot be read), ``spool_error`` (its decoded audio
cannot be kept), ``out_of_disk`` (no room: the run stops) and ``os_reason`` (the words quoted).
Decoding has its own, finer translation (``audio/_failures.py``).
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_ABORTED = 3
EXIT_INTERRUPTED = 130


class BatchscribeError(Exception):
    """Base of every error batchscribe raises on purpose."""

    exit_code: int = EXIT_ABORTED
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message

    def one_line(self) -> str:
        """The message and its fix, as the CLI prints them."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(BatchscribeError):
    """The command line, the settings or the environment are wrong; nothing was done."""

    exit_code = EXIT_USAGE


class JobsFileError(UsageError):
    """The jobs file cannot be loaded: says which file, line, field and how to fix it."""


class RunAbortedError(BatchscribeError):
    """The run as a whole cannot go on (credentials rejected, lock held, disk full)."""

    exit_code = EXIT_ABORTED


class LockHeldError(RunAbortedError):
    """Another batchscribe run holds the lock on the output folder."""

    default_hint = "wait for that run to finish, or stop it; a lock left by a dead process is taken over"


class OutOfDiskError(RunAbortedError):
    """The output folder has no room left."""

    default_hint = "free some disk space or choose another --out folder"


class FileError(BatchscribeError):
    """One recording failed. ``code`` is batchscribe's short, stable name for the cause."""

    exit_code = EXIT_FILES_FAILED
    error_class: str = "permanent"

    def __init__(self, message: str, *, code: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class FileCancelled(FileError):
    """The recording was not finished because the run was interrupted or stopped; not a failure."""

    error_class = "cancelled"
    default_hint = "run again to pick it up"

    def __init__(self, reason: str) -> None:
        super().__init__(f"cancelled: {reason}", code="cancelled")


class AudioError(FileError):
    """The recording cannot be opened or decoded; retrying will not help."""

    default_hint = "check that the file is a complete recording in a common audio or video format"


class EngineError(FileError):
    """The speech recognizer failed on a file.

    ``sdk_code`` is the SDK's CancellationErrorCode name (or our own, e.g. ``Stalled``) and
    ``detail`` its text with any secret masked.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        sdk_code: str = "",
        detail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.sdk_code = sdk_code
        self.detail = detail


class TransientEngineError(EngineError):
    """A failure that may pass: throttling, a dropped connection, a stalled session."""

    error_class = "transient"
    default_hint = "temporary service or network trouble; it was retried, run again later to pick it up"


class PermanentEngineError(EngineError):
    """The service rejected this file or request; retrying the same thing cannot help."""

    error_class = "permanent"
    default_hint = "check the recording and the recognition settings (language, endpoint id)"


class FatalEngineError(EngineError):
    """Nothing can succeed in this run (the key or region is wrong, access is forbidden)."""

    error_class = "fatal"
    exit_code = EXIT_ABORTED
    default_hint = "check SPEECH_KEY and SPEECH_REGION (or --endpoint/--host) and the resource's access"


class SummaryError(BatchscribeError):
    """A recording's summary could not be made (``--summarize``); its transcript stays done.
    ``transient``: worth retrying (429, 5xx, timeouts, an answer that was not the JSON asked for)."""

    exit_code = EXIT_FILES_FAILED
    default_hint = "temporary trouble with the Azure OpenAI deployment; the next --summarize run tries again"

    def __init__(self, message: str, *, code: str, hint: str | None = None, transient: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.transient = transient


class SummaryRefused(SummaryError):
    """The deployment's content filter refused the transcript: recorded as a warning, and not sent
    again until the transcript, the prompt or the deployment change."""

    default_hint = "review the transcript; change --summary-prompt or the content filter to retry"


class SummariesStopped(SummaryError):
    """No summary can succeed in this run (credentials rejected, deployment not found): the
    summaries stop with one line, transcription goes on."""

    default_hint = (
        "check AZURE_OPENAI_ENDPOINT, --openai-deployment and AZURE_OPENAI_API_KEY (or the Entra ID "
        "sign-in and its Cognitive Services OpenAI User role)"
    )


# --- OS errors, the one translation into the tree ------------------------------------------------

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
VANISHED_HINT = "it was moved or deleted during the run; a later run picks it up if it comes back"
UNREADABLE_HINT = "give batchscribe read access to it, or exclude it"


def os_reason(exc: OSError) -> str:
    """What went wrong, as a message quotes it: the OS's words, never a repr."""
    return exc.strerror or str(exc) or type(exc).__name__


def source_error(exc: OSError) -> AudioError:
    """The recording vanished or became unreadable while (or after) it was read."""
    if isinstance(exc, FileNotFoundError):
        return AudioError("the file was moved or deleted during the run", code="vanished", hint=VANISHED_HINT)
    return AudioError(f"the file cannot be read ({os_reason(exc)})", code="unreadable", hint=UNREADABLE_HINT)


def spool_error(exc: OSError, folder: str) -> FileError:
    """A recording's decoded audio cannot be kept in ``folder`` (shown): that recording fails."""
    return FileError(
        f"cannot keep its decoded audio in {folder}: {os_reason(exc)}",
        code="spool_failed",
        hint="check the free space of the output folder",
    )


def out_of_disk(exc: OSError, folder: str) -> OutOfDiskError | None:
    """No space left in ``folder`` (shown): the run stops. None for any other OS error."""
    if exc.errno not in NO_SPACE_ERRNOS:
        return None
    return OutOfDiskError(f"the disk is full: no space left in {folder} ({exc.strerror})")
