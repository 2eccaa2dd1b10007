"""Checkpoint files: our `.npz` format, Trax 1.x's pickles and their restricted unpickler.

Below `trax.layers` (whose `save_to_file`/`init_from_file` use them) and `trax.supervised`
(whose `Loop` writes them); `checkpoints.read_any` reads either format.
"""
