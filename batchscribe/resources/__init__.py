"""A run's Speech resources: ``service`` makes them ready (an emulator for ``--emulate``, Entra ID
sign-in kept fresh) and builds an engine for each; ``limiter`` adapts how many sessions a resource
takes to its pushback (throttling, slow connections); with several resources, ``rotation``
decides which takes the next session and which are out (quarantine, rejected credentials),
``rotating_engine`` puts one engine per resource behind a single ``Engine``, ``outage`` stops a
run that no resource can serve.
"""
