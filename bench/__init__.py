"""``make bench``: Closeloop's benchmark harness.

``python -m bench`` starts what it needs (its own broker, the services, databases of its own),
measures each figure side by side with a bare baseline in the same run, prints the report and
writes ``bench/results.json``. Each part lives in its own module; :mod:`bench.run` ties them up.
"""
