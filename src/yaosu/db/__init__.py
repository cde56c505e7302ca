"""Engine, sessions and the unit of work (one transaction per request, command or job)."""

from yaosu.db.engine import get_engine, make_engine, reset_engines
from yaosu.db.uow import session_factory, unit_of_work

__all__ = ["get_engine", "make_engine", "reset_engines", "session_factory", "unit_of_work"]
