# Copyright (c) shike-mm contributors. All rights reserved.
"""Dropping named log messages that a library emits where the caller has no
way to avoid them."""
import logging
from contextlib import contextmanager
from typing import Iterator, Sequence


class DropMessagesFilter(logging.Filter):
    """A :class:`logging.Filter` that drops every record whose message
    contains one of ``fragments``.

    Args:
        fragments (Sequence[str]): Exact substrings of the messages to drop.
    """

    def __init__(self, fragments: Sequence[str]) -> None:
        super().__init__()
        self.fragments = tuple(fragments)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(f in message for f in self.fragments)


@contextmanager
def dropped_log_messages(logger: logging.Logger,
                         fragments: Sequence[str]) -> Iterator[None]:
    """Drop ``logger``'s messages containing one of ``fragments`` while the
    block runs; every other message passes.

    Args:
        logger (logging.Logger): The logger the messages go through (for
            mmengine's ``print_log(logger='current')``, the current
            ``MMLogger``).
        fragments (Sequence[str]): Exact substrings of the messages to drop.
    """
    dropper = DropMessagesFilter(fragments)
    logger.addFilter(dropper)
    try:
        yield
    finally:
        logger.removeFilter(dropper)
