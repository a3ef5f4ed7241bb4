"""batchscribe: transcribe folders of recordings with Azure AI Speech, reliably and unattended."""

__version__ = "0.1.0"
