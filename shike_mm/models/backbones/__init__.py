# Copyright (c) shike-mm contributors. All rights reserved.
from .multi_expert_resnet import MultiExpertResNet
from .ride_resnet import RIDEResNet
from .shike_resnet import SHIKEResNet
from .single_path_resnet import SinglePathResNet
from .zero_pad_res_layer import ZeroPadResLayer, ZeroPadShortcut

__all__ = [
    'MultiExpertResNet', 'RIDEResNet', 'SHIKEResNet', 'SinglePathResNet',
    'ZeroPadResLayer', 'ZeroPadShortcut'
]
