"""Unit-test settings: property tests run fewer examples and no deadline.

Fifty generated examples per property find what a hundred do here (the inputs are small),
and halve the time; no deadline, because the box running the suite may be busy with servers
of other suites and a slow example is not a wrong one.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("unit", max_examples=50, deadline=None)
settings.load_profile("unit")
