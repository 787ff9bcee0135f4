# Copyright (c) shike-mm contributors. All rights reserved.
from .long_tail_accuracy import LongTailAccuracy

__all__ = ['LongTailAccuracy']
