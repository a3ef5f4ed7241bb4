"""Speech engines and the seam they share (``docs/ENGINES.md``: the session, request and job
shapes, and what every shape shares).

``base``: the ``Engine`` protocol and the transcript model; ``azure``: the session engine over the
real Speech SDK (the only module importing it), with ``sdk_native`` (its fenced private path),
``session`` (what a session's callbacks record) and ``sdk_errors`` (the SDK's failures as errors
of the tree); ``channels`` and ``stitch`` (channels and chunks put back together); ``fake``: the
fakes of each shape for unit tests; ``reaper``: recognizers released off the worker threads.
"""
