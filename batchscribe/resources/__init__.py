"""Several Speech resources in one run: ``rotation`` decides which resource takes the next
session and which are out (quarantine, rejected credentials), ``rotating_engine`` puts one engine per
resource behind a single ``Engine``, ``outage`` stops a run that no resource can serve.
"""
