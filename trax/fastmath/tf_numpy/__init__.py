"""`fastmath.numpy` under the tensorflow-numpy backend: jax.numpy semantics on plain TF ops.

Every function accepts TF tensors and variables, numpy and jax arrays and Python scalars,
and returns a `tf.Tensor`. Results follow jax, not TensorFlow:

- Defaults are 32-bit: `zeros((2,))` and `asarray(1.5)` are float32, `arange(3)` and
  `argmax(x)` int32. float64 arrays stay float64 (as on Trax 1.4's TF backend, and as on
  jax with 64-bit types on); 64-bit integers and numpy scalars (`np.float64(2.)`, a
  layer's constant) narrow to 32 bits, as on jax with 64-bit types off. TF tensors keep
  their dtype.
- Python scalars are weakly typed: `multiply(x_bf16, 2.)` stays bfloat16 and
  `add(x_int32, .5)` is float32. Mixed dtypes promote as in jax (an integer meeting a float
  takes the float's type; float16 with bfloat16 gives float32), and functions that need a
  float (`exp`, `mean`, `divide`) turn integers into float32.
- Shapes may mix Python ints and scalar int32 tensors (dynamic dimensions from
  `fastmath.shape`), so the same layer code runs inside `tf.function` with `None` batch
  and length dimensions.

We build on `tf.math`/`tf.linalg` rather than `tf.experimental.numpy`: without the global
"numpy behaviour" switch (which we must not flip) several tnp functions call `x.astype` and
fail, and tnp defaults to float64. Python operators on the returned tensors are TF's own:
`x * 2.` works, but an int32 tensor times a float needs `multiply` (or `astype` first).

Names not defined here raise `BackendError` through `fastmath.numpy`.
"""

from trax.fastmath.tf_numpy._creation import *
from trax.fastmath.tf_numpy._dtypes import *
from trax.fastmath.tf_numpy._elementwise import *
from trax.fastmath.tf_numpy._linalg import *
from trax.fastmath.tf_numpy._manipulation import *
from trax.fastmath.tf_numpy._reductions import *
