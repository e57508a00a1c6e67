"""Switchover with a ready rollback path, rollback, and finish.

procedure.py is `turnout switchover`, back.py is `turnout rollback` and
`turnout finish`, abort.py is `turnout switchover --abort` (of either),
steps.py holds what they share (freezing a side and waiting for its writers,
proving a task has drained), reverse.py makes the reverse task's definition.
They call a task's lifecycle in turnout.tasks, never turnout.api above them.
"""
