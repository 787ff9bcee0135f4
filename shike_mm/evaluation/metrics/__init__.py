# Copyright (c) shike-mm contributors. All rights reserved.
from .calibration_error import CalibrationError
from .long_tail_accuracy import LongTailAccuracy
from .shifted_distribution_accuracy import ShiftedDistributionAccuracy

__all__ = [
    'CalibrationError', 'LongTailAccuracy', 'ShiftedDistributionAccuracy'
]
