# Copyright (c) shike-mm contributors. All rights reserved.
from .compact_dump_results import CompactDumpResults, compact_dumps
from .long_tail_accuracy import LongTailAccuracy

__all__ = ['CompactDumpResults', 'LongTailAccuracy', 'compact_dumps']
