"""The models Keras ships (`keras.applications`, weights=None: nothing downloaded) through
from_keras: outputs equal to Keras' (`training=False`) within relative error 1e-4."""

import keras
import numpy as np
import pytest

import converters
from tests.converters.keras_helpers import as_list
from tests.converters.keras_helpers import randomize_batch_norm
from tests.converters.keras_helpers import relative_error
from tests.converters.keras_helpers import trax_outputs

A = keras.applications

# The smallest member of each family, at a small input size it accepts.
FAMILIES = {
  'MobileNet': (A.MobileNet, 32),
  'MobileNetV2': (A.MobileNetV2, 32),
  'MobileNetV3Small': (A.MobileNetV3Small, 32),
  'ResNet50': (A.ResNet50, 32),
  'ResNet50V2': (A.ResNet50V2, 32),
  'DenseNet121': (A.DenseNet121, 32),
  'EfficientNetB0': (A.EfficientNetB0, 32),
  'EfficientNetV2B0': (A.EfficientNetV2B0, 32),
  'Xception': (A.Xception, 71),
  'NASNetMobile': (A.NASNetMobile, 32),
  'ConvNeXtTiny': (A.ConvNeXtTiny, 32),
  'VGG16': (A.VGG16, 32),
  'InceptionV3': (A.InceptionV3, 75),
  'InceptionResNetV2': (A.InceptionResNetV2, 75),
}
DEFAULT_RUN = ('MobileNet', 'ResNet50V2')


def _check(family: str) -> None:
  build, size = FAMILIES[family]
  model = build(weights=None, input_shape=(size, size, 3), classifier_activation=None)
  randomize_batch_norm(model)
  report = converters.conversion_report(model)
  assert all(s.status == 'exact' for s in report), [s for s in report if s.status != 'exact']
  layer, _ = converters.from_keras(model)
  x = np.random.default_rng(1).uniform(0.0, 255.0, (2, size, size, 3)).astype(np.float32)
  (expected,), (got,) = as_list(model(x, training=False)), trax_outputs(layer, x, jit=True)
  relative = relative_error(got, expected)
  assert relative <= 1e-4, f'{family}: relative error {relative:.2e}'


@pytest.mark.parametrize('family', DEFAULT_RUN)
def test_application(family):
  _check(family)


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(set(FAMILIES) - set(DEFAULT_RUN)))
def test_application_family_sweep(family):
  _check(family)
