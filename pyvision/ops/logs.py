"""One log line per failure, and none per refusal.

A 503 for a database or a store that is down is logged, in one line, by the handler that
answers it (views.server_error); Django's own record of it would add the whole
traceback, at every request, for an outage that is not a bug. A 429 is a limit doing its
work: a flood of refused guesses would otherwise write a line per guess, costing the
site time and disk as it is refused."""

import logging

NOT_LOGGED = (429, 503)


def not_unavailable_or_refused(record: logging.LogRecord) -> bool:
    return getattr(record, "status_code", None) not in NOT_LOGGED
