"""pytest-seer: run only the tests a change can break, as seer selects them."""

from .plugin import junit_id

__all__ = ["junit_id"]
