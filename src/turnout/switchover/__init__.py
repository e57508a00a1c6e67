"""Switchover with a ready rollback path, rollback, and finish.

procedure.py is `turnout switchover` (and --abort), back.py is `turnout
rollback` and `turnout finish`, steps.py holds what they share (freezing a
side and waiting for its writers, proving a task has drained), reverse.py
makes the reverse task's definition.
"""
