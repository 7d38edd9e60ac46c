"""The user's side: the `territoires` command, the demo and the status report."""

from pipelines.cli.commands import main

__all__ = ["main"]
