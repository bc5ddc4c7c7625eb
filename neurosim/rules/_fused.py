"""Build and call the fused C kernels of ``_kernels.c`` (CPU, float32).

The shared library is compiled with the system C compiler on first use and cached
under ``$NEUROSIM_CACHE`` (default ``~/.cache/neurosim``), keyed by the source,
the flags and the CPU's feature flags. If no compiler is found or the build fails,
:func:`available` returns ``False`` (with one warning) and the optimizers use
their eager torch path. ``NEUROSIM_FUSED=0`` turns the fused path off.

ctypes releases the GIL during a call, so a large tensor is split into chunks
run on ``torch.get_num_threads()`` threads.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

_SOURCE = Path(__file__).with_name("_kernels.c")
_FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno",
          "-fno-trapping-math"]
_CHUNK = 1 << 17  # elements per task when splitting across threads
_lock = threading.Lock()
_lib: Any = None
_tried = False
_info: dict[str, Any] = {"fused": False, "compiler": None, "reason": "not built yet"}
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def _compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return cc
    return (out.splitlines() or [cc])[0].strip()


def _build() -> Any:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    _info["compiler"] = _compiler_version(cc)
    src = _SOURCE.read_bytes()
    key = hashlib.sha256(src + " ".join(_FLAGS).encode() + _cpu_flags().encode()).hexdigest()[:16]
    cache = Path(os.environ.get("NEUROSIM_CACHE", Path.home() / ".cache" / "neurosim"))
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"_kernels-{key}.so"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
        os.close(fd)
        try:
            subprocess.run(
                [cc, *_FLAGS, str(_SOURCE), "-o", tmp, "-lm"],
                check=True,
                capture_output=True,
                text=True,
            )
            os.replace(tmp, target)  # atomic: concurrent builders never see half a library
        except subprocess.CalledProcessError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise RuntimeError(f"compiling {_SOURCE.name} failed: {exc.stderr.strip()[:400]}") from None
    lib = ctypes.CDLL(str(target))
    f32p, i64, f32, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_int32
    lib.madam_f32.argtypes = [f32p, f32p, f32p, i64, i64, f32, f32, f32, f32, f32, f32, i32]
    lib.madam_f32.restype = i64
    for name in ("loggrid_f32_u8", "loggrid_f32_i16"):
        fn = getattr(lib, name)
        fn.argtypes = [f32p, f32p, f32p, f32p, f32p, i64, i64, i32, f32, f32, f32, f32, f32, i32, f32,
                       ctypes.c_uint32]
        fn.restype = i64
    return lib


def library() -> Any:
    """The loaded kernel library, or ``None`` when the fused path is unavailable."""
    global _lib, _tried
    if os.environ.get("NEUROSIM_FUSED", "1") == "0":
        _info.update(fused=False, reason="NEUROSIM_FUSED=0")
        return None
    with _lock:
        if not _tried:
            _tried = True
            try:
                _lib = _build()
                _info.update(fused=True, reason=None)
            except (RuntimeError, OSError) as exc:
                _info.update(fused=False, reason=str(exc)[:400])
                warnings.warn(
                    f"neurosim: fused CPU kernels unavailable ({exc}); using the eager torch path",
                    RuntimeWarning,
                    stacklevel=3,
                )
                _lib = None
    return _lib


def available() -> bool:
    """Whether the fused kernels compiled and loaded."""
    return library() is not None


def info() -> dict[str, Any]:
    """For provenance: whether the fused path is in use, the compiler, and why not if not."""
    available()
    return dict(_info)


def run_chunked(call: Callable[[int, int], int], n: int) -> int:
    """Run ``call(start, end)`` over ``[0, n)``, split across threads when ``n`` is large.

    Returns the sum of what the calls return (the kernels' count of skipped entries).
    """
    import torch

    threads = max(1, torch.get_num_threads())
    if threads == 1 or n <= 2 * _CHUNK:
        return int(call(0, n))
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="neurosim-fused")
            _pool_size = threads
        pool = _pool
    per = max(_CHUNK, -(-n // threads))
    futures = [pool.submit(call, s, min(s + per, n)) for s in range(0, n, per)]
    return sum(int(fut.result()) for fut in futures)
