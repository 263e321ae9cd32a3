"""One log line per failure: a 503 for a database or a store that is down is logged, in
one line, by the handler that answers it (views.server_error); Django's own record of
it would add the whole traceback, at every request, for an outage that is not a bug."""

import logging


def not_unavailable(record: logging.LogRecord) -> bool:
    return getattr(record, "status_code", None) != 503
