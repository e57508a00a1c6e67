"""Proving that source and destination hold the same data, and putting differences right.

pairs.py decides what is compared with what (and checks the schema),
compare.py finds the differing rows, recheck.py and settle.py look at them again once a
running task has caught up, repair.py writes the fix; report.py is what every face
shows, run.py puts them together (`verify_urls`), task.py for a task's tables
(`verify_task`). strays.py watches a running task for rows someone else wrote on its
destination; digest.py fingerprints a table for tests and benchmarks.

Nothing is imported here, so an engine that needs one module (forms.py) loads only it.
"""
