"""Errors of the converters: each says what went wrong, where, and what to do about it."""


class ExportError(ValueError):
  """An export that cannot be made as asked (bad arguments, unsupported model or layout)."""


class ExportVerificationError(ExportError):
  """An exported artifact computes outputs that differ from the model's beyond tolerance.

  Attributes:
    report: the `VerificationReport` (or TF Lite report) with the measured errors.
  """

  def __init__(self, message: str, report=None):
    super().__init__(message)
    self.report = report


class UnsupportedOpsError(ExportError):
  """TF Lite's builtin op set lacks ops the model needs.

  Attributes:
    ops: `{op name: [paths of the trax layers that produce it]}` (an empty list when the
      op could not be traced back to a layer).
  """

  def __init__(self, message: str, ops: dict):
    super().__init__(message)
    self.ops = ops


class UnsupportedLayerError(ExportError):
  """A layer with no exact counterpart in the target library (Keras <-> trax).

  Attributes:
    layers: `[(name, type name)]` of the layers that could not be mapped.
  """

  def __init__(self, message: str, layers: list):
    super().__init__(message)
    self.layers = layers
