"""An emulated Kestra executor for the contract tests (Kestra itself cannot run here).

``Kestra(flows, secrets).execute(flow, inputs)`` runs a flow with Kestra 1.x's semantics for
the task types the adw flows use; see engine.py for the rules and their sources.
"""

from tests.kestra.emulator.engine import Execution, Kestra, NotEmulated, TaskFailed

__all__ = ["Execution", "Kestra", "NotEmulated", "TaskFailed"]
