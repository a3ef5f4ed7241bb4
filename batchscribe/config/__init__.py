"""What the user asked for: run settings and credentials (``settings``), the jobs file
(``jobs``) and its schema (``schema``)."""
