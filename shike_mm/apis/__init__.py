# Copyright (c) shike-mm contributors. All rights reserved.
from .model_index import find_model_index, register_model_index

__all__ = ['find_model_index', 'register_model_index']
