"""Errors that pass: a network or storage hiccup, the database away for a moment. A
recognition they interrupt is given back and tried again."""

from botocore.exceptions import BotoCoreError, ClientError
from django.db import InterfaceError, OperationalError

TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError, BotoCoreError, ClientError)
