"""Builds fastconv._ext: the Cython layer linked with the C kernels under src/.

Every C file is compiled for the baseline ISA of the target, except the ISA variants,
recognised by their suffix (``*__avx2.c``, ``*__avx512f.c``), which get their own flags and
are left out on CPUs of other families; the run-time dispatch in src/dispatch.c picks among
what was built. Nothing is compiled with -march=native, so the package runs on any x86-64.
"""
import json
import os
import platform
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent
BASE_FLAGS = ["-O3", "-std=gnu11", "-fopenmp", "-fno-math-errno", "-Wall"]
ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512f": ["-mavx512f", "-mavx2", "-mfma"],
}
X86 = platform.machine().lower() in ("x86_64", "amd64")


def c_sources():
    """(baseline sources, {isa: sources}), paths relative to the project root."""
    baseline, variants = [], {isa: [] for isa in ISA_FLAGS}
    for path in sorted((ROOT / "src").rglob("*.c")):
        rel = path.relative_to(ROOT).as_posix()
        isa = path.stem.rpartition("__")[2] if "__" in path.stem else None
        if isa in ISA_FLAGS:
            variants[isa].append(rel)
        else:
            baseline.append(rel)
    return baseline, (variants if X86 else {})


class BuildExt(build_ext):
    """Compiles the ISA variants with their own flags before the extension itself."""

    def build_extension(self, ext):
        _, variants = c_sources()
        for isa, sources in variants.items():
            ext.extra_objects += self.compiler.compile(
                sources, output_dir=self.build_temp, include_dirs=ext.include_dirs,
                extra_postargs=BASE_FLAGS + ISA_FLAGS[isa], depends=ext.depends)
        super().build_extension(ext)


def extensions():
    from Cython.Build import cythonize

    baseline, variants = c_sources()
    # Compiled into the extension as a string, for fastconv.show_config().
    build_info = json.dumps({"compiler": sysconfig.get_config_var("CC") or "cc", "base_flags": BASE_FLAGS,
                             "isa_flags": {isa: ISA_FLAGS[isa] for isa in variants}})
    ext = Extension(
        "fastconv._ext",
        sources=["fastconv/_ext.pyx"] + baseline,
        include_dirs=["src"],
        depends=[p.as_posix() for p in (ROOT / "src").rglob("*.h")],
        extra_compile_args=BASE_FLAGS,
        extra_link_args=["-fopenmp"],
        libraries=["m"],
        define_macros=[("FC_BUILD_INFO", '"' + build_info.replace('"', '\\"') + '"')],
    )
    return cythonize([ext], compiler_directives={"language_level": 3}, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
