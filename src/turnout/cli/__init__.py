"""The `turnout` command line: parses, calls turnout.api, renders; holds no logic of its own.

main.py holds the group and the task commands, one module per further command family
(accounts, backup, switchover), render.py the Rich renderings, demo.py `turnout demo`.
"""

from turnout.cli.main import cli, main

__all__ = ["cli", "main"]
