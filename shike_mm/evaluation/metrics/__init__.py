# Copyright (c) shike-mm contributors. All rights reserved.
from .calibration_error import CalibrationError
from .compact_dump_results import CompactDumpResults, compact_dumps
from .long_tail_accuracy import LongTailAccuracy
from .shifted_distribution_accuracy import ShiftedDistributionAccuracy

__all__ = [
    'CalibrationError', 'CompactDumpResults', 'LongTailAccuracy',
    'ShiftedDistributionAccuracy', 'compact_dumps'
]
