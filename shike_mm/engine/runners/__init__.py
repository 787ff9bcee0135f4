# Copyright (c) shike-mm contributors. All rights reserved.
from .device_aware_runner import DeviceAwareRunner

__all__ = ['DeviceAwareRunner']
