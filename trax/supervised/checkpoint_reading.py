"""`trax.checkpoint_reading` under the name README and earlier code used
(`trax.supervised.checkpoint_reading.read_limit`): the module moved below `trax.layers`,
whose `np_from_file` reads with it. This name is the same module object, not a copy."""

import sys

from trax import checkpoint_reading

sys.modules[__name__] = checkpoint_reading
