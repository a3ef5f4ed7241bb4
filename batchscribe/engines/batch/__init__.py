"""The batch engine (``--engine batch``): Azure batch transcription over Blob Storage.

``client`` (the REST API over httpx), ``storage`` (the container, azure-storage-blob), ``engine``
(the job engine joining them), ``results`` (the service's result files as transcripts),
``convert`` (recordings the service cannot read, converted before upload) and ``settings``
(``BatchSettings``). Nothing here reads the run's settings: ``resources/batch_setup.py`` builds
the engine from them, so importing this package (or ``settings``) loads neither httpx nor the
storage client.
"""
