"""Proving that source and destination hold the same data, and putting differences right.

pairs.py decides what is compared with what (and checks the schema),
compare.py finds the differing rows, recheck.py looks at them again once a
running task has caught up, repair.py writes the fix; report.py is what
every face shows.
"""

from turnout.verify.digest import Digest, table_digest

__all__ = ["Digest", "table_digest"]
