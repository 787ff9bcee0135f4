# Copyright (c) shike-mm contributors. All rights reserved.
