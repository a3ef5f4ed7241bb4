"""Summaries, action items and topics of every transcript with an Azure OpenAI deployment
(``--summarize``, issue 21), kept incremental and under budget.

- ``config/summaries.py`` holds ``SummaryOptions`` and how a spec resolves to them (no ``openai``
  import); ``planning/summaries.py``, what ``plan --summarize`` predicts
- ``prompt``: the transcript as text, its parts, the messages, the answer checked; ``prompt.md``
  is the shipped prompt (``--summary-prompt FILE`` replaces it)
- ``client``: the one module talking to Azure OpenAI (the ``openai`` package), retries and errors
- ``summarize``: one transcript, in parts when long, the parts combined
- ``document``: ``NAME.summary.json`` / ``.md`` and the one decision of whether a summary is due
- ``stage``: the run's summaries stage, called by ``running/run.py`` through ``hook`` (which
  hands it the run's recordings); ``summary_digest.py`` (beside ``results.py``): what it did

Transcript text leaves the machine only with ``--summarize``, for the configured endpoint.
"""
