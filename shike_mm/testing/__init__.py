# Copyright (c) shike-mm contributors. All rights reserved.
"""Oracles and fixtures shared by the tests and the measuring tools: the
straightforward SHIKE network (:mod:`.plain_shike`), the public reference
code loaded from a checkout (:mod:`.shike_reference`), the tools'
training data (:mod:`.train_data`) and a bounded competing CPU load
(:mod:`.competing_load`). Import the submodules; this package
imports none of them."""
