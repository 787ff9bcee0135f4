# Copyright (c) shike-mm contributors. All rights reserved.
from .multi_expert_resnet import MultiExpertResNet
from .shike_resnet import SHIKEResNet
from .single_path_resnet import SinglePathResNet

__all__ = ['MultiExpertResNet', 'SHIKEResNet', 'SinglePathResNet']
