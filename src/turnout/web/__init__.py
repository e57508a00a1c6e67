"""`turnout serve`: the REST API and the web console, both thin faces over turnout.api."""

from turnout.web.app import create_app

__all__ = ["create_app"]
