"""The main job (`python -m fastconv`) runs end to end and checks itself."""
import subprocess
import sys


def test_demo_runs_and_matches_the_reference():
    proc = subprocess.run([sys.executable, "-m", "fastconv", "--size", "32", "--repeats", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "match the float64 reference" in proc.stdout and ": yes" in proc.stdout
    for layer in ("stem 7x7/2", "maxpool 3x3/2", "depthwise 3x3", "global avgpool", "total"):
        assert layer in proc.stdout
