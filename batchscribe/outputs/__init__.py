"""Per-file outputs: Azure batch-transcription JSON, text and subtitles, written atomically."""
