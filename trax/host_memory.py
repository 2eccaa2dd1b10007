"""Host memory on CPU: freed memory kept for reuse, so a training step faults in no pages.

XLA:CPU allocates the temporaries of each run of a compiled function (what a training step
keeps for its backward pass: 124 MiB for the benchmark TransformerLM of bench/README.md)
with `posix_memalign`, and frees them when the run ends. glibc serves a block that large
with a fresh `mmap` and unmaps it on `free`, so every step faults every page in again:
33,700 page faults and 60 ms of kernel time in a step of 500 ms CPU. (TensorFlow's
allocator keeps its memory: Keras' step had about 10 ms of kernel time.)

So `import trax`, before jax starts its CPU client, makes two settings:

- glibc's malloc (`mallopt`) never to `mmap` and to keep up to 2 GiB of freed memory
  instead of returning it to the system, so the main arena (which grows with `brk` and
  holds blocks of any size) gives a step's temporaries back at the same addresses;
- jax to run computations on one CPU device on the calling thread
  (`jax_cpu_enable_async_dispatch=False`), so those temporaries come from the main arena:
  a worker thread's arena cannot hold more than 64 MiB and would map them afresh anyway.

The benchmark step took 13% less CPU time and no page faults. The costs: Python waits for
each CPU computation (a `Loop`'s host work, about 2 ms a step, no longer overlaps the
step); the process keeps its heap at its peak size (memory it frees is reused, not
returned); computations over several CPU devices still run on worker threads, with their
temporaries mapped afresh. Serving every thread from the main arena instead (glibc's
`MALLOC_ARENA_MAX=1`) gave the same steps but compiled 19% slower, the quickstart 23%.

`keep_freed_memory` leaves both alone, saying why in `STATUS`, when:

- the environment sets `TRAX_KEEP_FREED_MEMORY=0`, or sets glibc's malloc itself
  (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_MAX_`, ... or `GLIBC_TUNABLES`);
- jax already runs (the dispatch setting only takes effect when its CPU client starts):
  import trax before running jax code;
- the C library is not glibc (macOS, Windows, musl).

A `training.Loop` on CPU logs `STATUS` once per process, and prints it if jax had started
first (`MISSED`).
"""

import ctypes
import os
import platform

OFF_VARIABLE = 'TRAX_KEEP_FREED_MEMORY'

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
KEPT_BYTES = 2**31 - 1  # The largest trim threshold mallopt takes (a C int).

STATUS = 'not set: trax.host_memory.keep_freed_memory() has not run'
KEPT = False  # Whether freed memory is kept for reuse (the setting was made).
MISSED = False  # Whether it was left alone only because jax had started first.


def keep_freed_memory() -> bool:
  """Sets glibc's malloc to keep freed memory, and jax to run CPU computations where they
  are called, so that a run's temporaries are reused (see the module docstring).

  Returns whether it did; `STATUS` says what was done, or why not.
  """
  global STATUS, KEPT, MISSED
  reason = _reason_to_leave_alone()
  MISSED = reason == _JAX_STARTED_FIRST
  if reason is None:
    libc = ctypes.CDLL(None)
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, KEPT_BYTES))
    if all(libc.mallopt(parameter, value) == 1 for parameter, value in settings):
      import jax

      jax.config.update('jax_cpu_enable_async_dispatch', False)
      STATUS = (
        'freed memory is kept for reuse (glibc malloc: no mmap, up to 2 GiB kept; jax '
        f'runs single-device CPU computations on the calling thread; {OFF_VARIABLE}=0 '
        'turns it off)'
      )
      KEPT = True
      return True
    reason = 'glibc refused the setting (mallopt failed)'
  STATUS = f'left to the C library: {reason}'
  KEPT = False
  return False


_JAX_STARTED_FIRST = (
  'jax ran before trax was imported, so its CPU computations run on worker threads, '
  "whose arenas map each training step's buffers afresh; import trax before running "
  'jax code'
)


def _reason_to_leave_alone() -> 'str | None':
  if os.environ.get(OFF_VARIABLE, '1') == '0':
    return f'{OFF_VARIABLE}=0'
  chosen = sorted(
    name for name in os.environ if name.startswith('MALLOC_') or name == 'GLIBC_TUNABLES'
  )
  if chosen:
    return f'the environment sets it ({", ".join(chosen)})'
  if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
    return 'the C library is not glibc'
  if _jax_started():
    return _JAX_STARTED_FIRST
  return None


def _jax_started() -> bool:
  from jax._src import xla_bridge  # Private: jax has no public "backends started" query.

  return xla_bridge.backends_are_initialized()
