# Copyright (c) shike-mm contributors. All rights reserved.
from .device_aware_ddp import DeviceAwareDistributedDataParallel

__all__ = ['DeviceAwareDistributedDataParallel']
