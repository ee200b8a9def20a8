"""Errors of the local stack, each naming the component and the reason.

StackError
├── ProvisionError      a download, a build or a prerequisite failed
└── ComponentError      a server did not start or did not become healthy
"""

from __future__ import annotations

__all__ = ["ComponentError", "ProvisionError", "StackError"]


class StackError(Exception):
    """Base class: something the local stack could not do."""


def _with_log(message: str, log_name: str, log_tail: str) -> str:
    return f"{message}\n--- last lines of {log_name} ---\n{log_tail}" if log_tail else message


class ProvisionError(StackError):
    def __init__(self, what: str, reason: str, log_tail: str = "") -> None:
        self.what, self.reason, self.log_tail = what, reason, log_tail
        super().__init__(_with_log(f"provisioning {what} failed: {reason}", "the log", log_tail))


class ComponentError(StackError):
    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        self.component, self.reason, self.log_tail = component, reason, log_tail
        super().__init__(_with_log(f"{component}: {reason}", f"{component}'s log", log_tail))
