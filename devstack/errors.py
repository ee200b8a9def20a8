"""Errors of the local stack, each naming the component and the reason.

StackError
├── ProvisionError      a download, a build or a prerequisite failed
└── ComponentError      a server did not start or did not become healthy
"""

from __future__ import annotations

__all__ = ["ComponentError", "ProvisionError", "StackError"]


class StackError(Exception):
    """Base class: something the local stack could not do."""


class ProvisionError(StackError):
    def __init__(self, what: str, reason: str, log_tail: str = "") -> None:
        self.what, self.reason, self.log_tail = what, reason, log_tail
        message = f"provisioning {what} failed: {reason}"
        if log_tail:
            message += f"\n--- last lines of the log ---\n{log_tail}"
        super().__init__(message)


class ComponentError(StackError):
    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        self.component, self.reason, self.log_tail = component, reason, log_tail
        message = f"{component}: {reason}"
        if log_tail:
            message += f"\n--- last lines of {component}'s log ---\n{log_tail}"
        super().__init__(message)
