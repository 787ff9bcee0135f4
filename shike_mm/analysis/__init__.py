# Copyright (c) shike-mm contributors. All rights reserved.
"""Analysis code shared by several tools and by the routing-cost hook."""
