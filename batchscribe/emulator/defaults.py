"""The emulator's defaults that its command line declares (no heavy imports: the CLI starts fast)."""

ENV_VAR = "BATCHSCRIBE_EMULATOR_TRANSCRIPTS"  # where the transcripts file is, when not given
TURN_SECONDS = 600.0  # the live service ends a turn after 10 minutes of audio (USP_PROTOCOL.md)
