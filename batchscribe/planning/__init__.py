"""Planning: what a run will do, decided before (and while) anything is sent.

``discovery`` finds the recordings, ``planner`` decides per recording what it needs against the
ledger (pure: it returns actions and changes nothing), ``streaming`` plans while the run goes on
so the first work starts at once whatever the folder's size.
"""
