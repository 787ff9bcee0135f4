# Copyright (c) shike-mm contributors. All rights reserved.
from .cosine_classifier import CosineClassifier

__all__ = ['CosineClassifier']
