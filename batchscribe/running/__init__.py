"""Running a plan: ``run.run_batch`` ties a run together (plan, run, write, record); ``runner``
drives work through an engine, a bounded, adaptive number of sessions at once
(``resources/limiter.py``), with retries (``retry``) and a watchdog; ``tasks`` and ``chunks`` are
what its queue holds (long recordings as chunk sessions, which talk to the runner through
``tasks.TaskHost``); ``events`` is what it tells the live view; ``outcome`` what a run may still
spend.
"""
