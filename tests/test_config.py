"""ISA dispatch, threads and show_config."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastconv


def run_python(code, **env):
    """Runs `code` in a fresh interpreter with extra environment variables; returns stdout+stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTCONV_", "OMP_"))}
    full_env.update(env)
    proc = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_show_config_reports_everything(capsys):
    config = fastconv.show_config()
    printed = capsys.readouterr().out
    for key in ("isa", "best_isa", "available_isas", "num_threads", "compiler", "base_flags", "isa_flags"):
        assert key in config and key in printed
    assert config["isa"] in config["available_isas"]
    assert config["available_isas"][-1] == config["best_isa"]


def test_set_isa_round_trip():
    previous = fastconv.get_isa()
    try:
        for isa in fastconv.available_isas():
            fastconv.set_isa(isa)
            assert fastconv.get_isa() == isa
    finally:
        fastconv.set_isa(previous)


def test_set_isa_rejects_unknown_and_unsupported():
    with pytest.raises(ValueError, match="isa must be one of"):
        fastconv.set_isa("sse9")
    with pytest.raises(TypeError):
        fastconv.set_isa(3)
    missing = [isa for isa in ("scalar", "avx2", "avx512") if isa not in fastconv.available_isas()]
    for isa in missing:
        with pytest.raises(ValueError, match="not supported here"):
            fastconv.set_isa(isa)


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_environment_forces_isa(isa):
    out = run_python("import fastconv; print('ISA', fastconv.get_isa())", FASTCONV_ISA=isa)
    if isa in fastconv.available_isas():
        assert f"ISA {isa}" in out
    else:  # asking for more than the CPU has warns and falls back, never SIGILL
        assert "not supported" in out and f"ISA {fastconv.available_isas()[-1]}" in out


def test_environment_with_unknown_isa_warns():
    out = run_python("import fastconv; print('ISA', fastconv.get_isa())", FASTCONV_ISA="mmx")
    assert "RuntimeWarning" in out and f"ISA {fastconv.available_isas()[-1]}" in out


def test_forced_isa_computes_the_same_in_a_fresh_process():
    code = ("import numpy as np, fastconv; from fastconv import reference;"
            "r = np.random.default_rng(0); x = r.standard_normal((2, 7, 9, 10)); w = r.standard_normal((13, 7, 3, 3));"
            "y = fastconv.conv2d(x.astype(np.float32), w, padding=1); e = reference.conv2d(x.astype(np.float32), w, padding=1);"
            "print('ERR', float(abs(y - e).max() / abs(e).max()), fastconv.get_isa())")
    for isa in fastconv.available_isas():
        out = run_python(code, FASTCONV_ISA=isa)
        err = float(out.split("ERR")[1].split()[0])
        assert err < 1e-5 and isa in out


def test_num_threads_environment():
    assert "THREADS 1" in run_python("import fastconv; print('THREADS', fastconv.get_num_threads())",
                                     FASTCONV_NUM_THREADS="1")
    assert "THREADS 3" in run_python("import fastconv; print('THREADS', fastconv.get_num_threads())",
                                     OMP_NUM_THREADS="3")
    assert "THREADS 2" in run_python("import fastconv; print('THREADS', fastconv.get_num_threads())",
                                     FASTCONV_NUM_THREADS="2", OMP_NUM_THREADS="5")


def test_set_num_threads():
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(3)
        assert fastconv.get_num_threads() == 3
    finally:
        fastconv.set_num_threads(previous)
    with pytest.raises(ValueError, match="n must be >= 1"):
        fastconv.set_num_threads(0)
    with pytest.raises(TypeError, match="n must be an int"):
        fastconv.set_num_threads(2.0)


def test_threadpoolctl_limits_fastconv():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(2)
        assert any(info["user_api"] == "openmp" for info in threadpoolctl.threadpool_info())
        with threadpoolctl.threadpool_limits(1):
            assert fastconv.get_num_threads() == 1
            x, w = np.ones((1, 4, 30, 30), np.float32), np.ones((8, 4, 3, 3), np.float32)
            assert np.all(fastconv.conv2d(x, w) == 36)
        assert fastconv.get_num_threads() == 2
    finally:
        fastconv.set_num_threads(previous)
