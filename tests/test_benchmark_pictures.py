"""The picture benchmarks run end to end on tiny sizes (they time nothing here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=240, env=ENV)


def test_startup_floors_follow_what_predict_imports_and_how_it_decodes():
    done = run("startup.py", "--repeats", "1", "--images", "12", "--rows", "image,folder")
    assert done.returncode == 0, done.stderr
    loads = re.search(r"predict IMAGE loads (.*) \(its floor\)", done.stdout)
    assert loads is not None, done.stdout
    assert {"numpy", "h5py", "cv2"} <= set(loads.group(1).split(", "))
    # the folder holds plain PNGs, which OpenCV decodes (fcnn_cli/data/images.py)
    assert "the folder's floor decodes with cv2.imdecode (flags -1) as the pipeline does" \
        in done.stdout
    assert "folder beyond one picture's start-up" in done.stdout


def test_startup_refuses_an_unknown_row():
    done = run("startup.py", "--rows", "image,everything")
    assert done.returncode == 2
    assert "--rows: choose from help, completion, image, folder" in done.stderr


def test_images_accuracy_reads_the_examples_with_two_versions():
    done = run("images_accuracy.py", "--per-condition", "0", "--per-style", "0",
               "--mnist-png", "0", "--against", str(REPO))
    assert done.returncode == 0, done.stderr
    row = re.search(r"^  examples\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)$", done.stdout, re.M)
    assert row is not None, done.stdout
    assert row.groups() == ("32", "100.0%", "100.0%", "0")


def test_images_accuracy_refuses_a_folder_without_fcnn(tmp_path):
    done = run("images_accuracy.py", "--against", str(tmp_path))
    assert done.returncode == 2
    assert f"--against {tmp_path}: no fcnn_cli package there" in done.stderr
