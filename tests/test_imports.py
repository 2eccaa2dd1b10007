"""`import trax` needs only jax and numpy: TensorFlow, Keras and the rest are extras."""

import subprocess
import sys
import textwrap

# What `pip install trax` (without extras) does not install.
EXTRAS = (
  'tensorflow',
  'keras',
  'tensorboard',
  'tensorflow_datasets',
  'sentencepiece',
  'ai_edge_litert',
  'gin',
  'orbax',
)

_JAX_ONLY = textwrap.dedent('''
    import sys, tempfile
    for name in {extras!r}:
      sys.modules[name] = None  # As if not installed: importing it raises ImportError.
    import numpy as np
    import trax
    from trax import data, fastmath, models, optimizers, shapes
    import trax.layers as tl
    from trax.supervised import decoding, lr_schedules, trainer_lib, training

    def batches():
      rng = np.random.default_rng(0)
      while True:
        x = rng.integers(1, 16, (4, 6)).astype(np.int32)
        yield x, x, np.ones_like(x, np.float32)

    model = models.TransformerLM(16, d_model=8, d_ff=16, n_layers=1, n_heads=2, max_len=8)
    task = training.TrainTask(batches(), tl.WeightedCategoryCrossEntropy(),
                              optimizers.Adam(0.01), n_steps_per_checkpoint=2)
    loop = training.Loop(model, task, output_dir=tempfile.mkdtemp())
    loop.run(2)
    assert loop.step == 2
    print('ok')
''')


def test_trax_trains_and_checkpoints_with_only_jax_and_numpy_installed():
  code = _JAX_ONLY.format(extras=EXTRAS)
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0 and result.stdout.strip().endswith('ok'), (
    result.stdout[-2000:] + result.stderr[-3000:]
  )


_WITHOUT_EXTRAS = textwrap.dedent('''
    import sys
    for name in {extras!r}:
      sys.modules[name] = None
    try:
      {statement}
    except ModuleNotFoundError as e:
      print(e)
''')


def test_the_packages_that_need_an_extra_name_it():
  for statement, extra in (
    ('import trax_keras', 'trax[keras]'),
    ('from converters import to_saved_model', 'trax[export]'),
  ):
    code = _WITHOUT_EXTRAS.format(extras=EXTRAS, statement=statement)
    output = subprocess.run(
      [sys.executable, '-c', code], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert f'pip install "{extra}"' in output, output
