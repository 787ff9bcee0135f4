# Copyright (c) shike-mm contributors. All rights reserved.
"""Oracles and fixtures shared by the tests and the measuring tools: the
straightforward SHIKE network (:mod:`.plain_shike`), the public reference
code loaded from a checkout (:mod:`.shike_reference`) and the tools'
training data (:mod:`.train_data`). Import the submodules; this package
imports none of them."""
