"""The public entry point of a run, ``interpreter.engine.run(deal,
assumptions, speeds, ...)``, and the names that go with it. The run itself
lives in ``interpreter/waterfall/`` (run.py: lowering, collateral, backend;
numpy_engine.py and c_emit.py: the two backends; records.py: RunResult).
"""
from .errors import ConservationError, RunError
from .waterfall.lowering import Model, lower_program, planned_balance, start_state
from .waterfall.records import RunResult
from .waterfall.run import distribution_schedule, horizon, project_collateral, run

__all__ = ["ConservationError", "Model", "RunError", "RunResult", "distribution_schedule", "horizon",
           "lower_program", "planned_balance", "project_collateral", "run", "start_state"]
