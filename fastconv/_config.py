"""Run-time configuration: which instruction set the kernels use, and how many threads.

The CPU is probed once at import; ``FASTCONV_ISA`` may force a lower ISA and
``FASTCONV_NUM_THREADS`` (else ``OMP_NUM_THREADS``) sets the thread count. Threads are
OpenMP's, so ``threadpoolctl.threadpool_limits`` limits fastconv too.
"""
import json
import os
import warnings

from . import _ext

ISAS = _ext.ISA_NAMES  # ("scalar", "avx2", "avx512"), lowest first
_ALIASES = {"avx512f": "avx512", "generic": "scalar", "native": None}


def _canonical_isa(name, argname="isa"):
    if not isinstance(name, str):
        raise TypeError(f"{argname} must be a str, one of {ISAS}, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key) if key in _ALIASES else key
    if key is None:
        return _ext.cpu_best_isa()
    if key not in ISAS:
        raise ValueError(f"{argname} must be one of {ISAS}, got {name!r}")
    return key


def available_isas():
    """The ISAs this build and this CPU can run, lowest first."""
    return ISAS[: ISAS.index(_ext.cpu_best_isa()) + 1]


def get_isa():
    """The ISA the kernels currently use."""
    return _ext.active_isa()


def set_isa(name):
    """Use the kernels of ISA ``name`` ('scalar', 'avx2', 'avx512', or 'native' for the best).

    Meant for testing and benchmarking one path against another; it affects every later
    call in the process. Raises ValueError if this CPU or build cannot run ``name``.
    """
    isa = _canonical_isa(name)
    if not _ext.set_isa(isa):
        raise ValueError(f"isa {isa!r} is not supported here; available: {available_isas()}")


def get_num_threads():
    """Threads a fastconv call from this thread may use (OpenMP's limit for the calling thread)."""
    return _ext.max_threads()


def set_num_threads(n):
    """Limit fastconv calls made from this thread (and other OpenMP code of the process's
    libgomp run from it) to ``n`` threads.

    As OpenMP's ``omp_set_num_threads``, the limit belongs to the calling thread: calls from
    other Python threads keep the process default, which ``OMP_NUM_THREADS`` sets for all.
    ``FASTCONV_NUM_THREADS`` is applied at import, in the importing thread.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _ext.set_max_threads(n)


def show_config(print_it=True):
    """Report the ISA in use, what the CPU supports, threads, compiler and flags.

    Prints a summary unless ``print_it`` is False; returns it as a dict either way.
    """
    info = json.loads(_ext.build_info())
    config = {
        "isa": get_isa(),
        "best_isa": _ext.cpu_best_isa(),
        "available_isas": list(available_isas()),
        "num_threads": get_num_threads(),
        "compiler": info.get("compiler", "unknown"),
        "compiler_version": _ext.compiler_version(),
        "base_flags": info.get("base_flags", []),
        "isa_flags": info.get("isa_flags", {}),
    }
    if print_it:
        for key, value in config.items():
            print(f"{key:>16}: {value}")
    return config


def _configure_from_environment():
    requested = os.environ.get("FASTCONV_ISA", "").strip()
    isa = _ext.cpu_best_isa()
    if requested:
        try:
            isa = _canonical_isa(requested, "FASTCONV_ISA")
        except ValueError as exc:
            warnings.warn(f"{exc}; using {isa!r}", RuntimeWarning, stacklevel=3)
        if ISAS.index(isa) > ISAS.index(_ext.cpu_best_isa()):
            warnings.warn(f"FASTCONV_ISA={requested!r} is not supported by this CPU or build; "
                          f"using {_ext.cpu_best_isa()!r}", RuntimeWarning, stacklevel=3)
            isa = _ext.cpu_best_isa()
    _ext.set_isa(isa)

    threads = os.environ.get("FASTCONV_NUM_THREADS", "").strip()
    if threads:  # otherwise libgomp already honours OMP_NUM_THREADS
        try:
            set_num_threads(int(threads))
        except ValueError:
            warnings.warn(f"FASTCONV_NUM_THREADS={threads!r} is not a positive integer; ignored",
                          RuntimeWarning, stacklevel=3)
