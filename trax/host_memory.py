"""Host memory on CPU: freed memory kept for reuse, so a training step faults in no pages.

XLA:CPU allocates the temporaries of each run of a compiled function (what a training step
keeps for its backward pass: 124 MiB for the benchmark TransformerLM of bench/README.md)
with `posix_memalign`, on one of jax's worker threads, and frees them when the run ends.
glibc serves a block that large with a fresh `mmap` (over 32 MiB; in a worker thread's own
arena, which cannot grow past 64 MiB, always) and unmaps it on `free`, so every step faults
every page in again: 33,700 page faults and 60 ms of kernel time in a step of 500 ms CPU.
(TensorFlow's allocator keeps its memory: Keras' step had about 10 ms of kernel time.)

So `import trax` sets glibc's malloc (`mallopt`), once and before jax starts its CPU
threads, to serve every thread from the main arena (which grows with `brk` and holds blocks
of any size), never to `mmap`, and to keep up to 2 GiB of freed memory instead of returning
it to the system: a step's temporaries come back at the same addresses, without a fault.
The benchmark step took 11% less CPU time. The costs: the process keeps its heap at its
peak size (memory it frees is reused, not returned), and its threads share one arena
(Keras on TensorFlow measured the same either way).

`keep_freed_memory` leaves malloc alone, saying why in `STATUS`, when:

- the environment sets `TRAX_KEEP_FREED_MEMORY=0`, or sets glibc's malloc itself
  (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_MAX_`, ... or `GLIBC_TUNABLES`);
- jax already runs (its threads have arenas of their own): import trax before running jax
  code, or start Python with `MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0
  MALLOC_TRIM_THRESHOLD_=2147483647`, which is the same setting;
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
_M_ARENA_MAX = -8
KEPT_BYTES = 2**31 - 1  # The largest trim threshold mallopt takes (a C int).

STATUS = 'not set: trax.host_memory.keep_freed_memory() has not run'
KEPT = False  # Whether freed memory is kept for reuse (the setting was made).
MISSED = False  # Whether it was left alone only because jax had started first.


def keep_freed_memory() -> bool:
  """Sets glibc's malloc to keep freed memory for reuse (see the module docstring).

  Returns whether it did; `STATUS` says what was done, or why not.
  """
  global STATUS, KEPT, MISSED
  reason = _reason_to_leave_alone()
  MISSED = reason == _JAX_STARTED_FIRST
  if reason is None:
    libc = ctypes.CDLL(None)
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, KEPT_BYTES))
    if all(libc.mallopt(parameter, value) == 1 for parameter, value in settings):
      STATUS = (
        'freed memory is kept for reuse (glibc malloc: one arena, no mmap, up to 2 GiB '
        f'kept; {OFF_VARIABLE}=0 turns it off)'
      )
      KEPT = True
      return True
    reason = 'glibc refused the setting (mallopt failed)'
  STATUS = f'left to the C library: {reason}'
  KEPT = False
  return False


_JAX_STARTED_FIRST = (
  'jax ran before trax was imported, and its CPU threads allocate from arenas of their '
  'own, where each training step maps its buffers afresh; import trax first, or start '
  f'Python with MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_={KEPT_BYTES}'
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
