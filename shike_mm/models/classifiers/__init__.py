# Copyright (c) shike-mm contributors. All rights reserved.
from .multi_expert_classifier import MultiExpertClassifier

__all__ = ['MultiExpertClassifier']
