"""The request bodies the API reads: multipart forms, and JSON."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's, with a body nested deeper than Python's parser goes refused as malformed:
    ``[[[[...]]]]`` a hundred thousand deep raises RecursionError, which DRF does not
    turn into a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
