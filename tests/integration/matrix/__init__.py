"""The value-domain matrix: every type each engine has, its edge values, every engine pair.

`cases` holds the types and their edge values (as each source engine spells them), `readers`
reads a table back with each engine's own driver and puts values in one comparable form, and
`tests/integration/test_value_matrix.py` pushes every case through the full step, the
incremental step and the reverse task, in all nine directions.
"""
