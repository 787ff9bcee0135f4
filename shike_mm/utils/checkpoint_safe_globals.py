# Copyright (c) shike-mm contributors. All rights reserved.
def register_checkpoint_safe_globals() -> None:
    """Placeholder, filled in by the foundation work."""
