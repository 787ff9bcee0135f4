# Copyright (c) shike-mm contributors. All rights reserved.
from .multi_expert_resnet import MultiExpertResNet
from .shike_resnet import SHIKEResNet

__all__ = ['MultiExpertResNet', 'SHIKEResNet']
