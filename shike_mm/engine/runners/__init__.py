# Copyright (c) shike-mm contributors. All rights reserved.
from .device_aware_runner import DeviceAwareRunner
from .distributed_setup import finish_distributed

__all__ = ['DeviceAwareRunner', 'finish_distributed']
