"""Worker processes that prepare pictures start safely from a process that has already used
OpenCV's threads (a training run, a notebook): they inherit OpenCV set up, never set it
up again after the fork, which can hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import cv2
    import numpy as np

    from fcnn_cli.data.image_spec import ImageSpec
    from fcnn_cli.data.prepare import PARALLEL_FROM, iter_prepared

    big = np.random.default_rng(0).integers(0, 256, (2000, 2000), np.uint8)
    files = sorted(Path(sys.argv[1]).iterdir())
    assert len(files) >= PARALLEL_FROM
    for _ in range(10):  # each fork a chance to hang: about one in ten did
        cv2.GaussianBlur(big, (0, 0), 3)  # on OpenCV's threads, where it has them
        rows = sum(len(p.pixels) for _, p in iter_prepared(files, ImageSpec("digit"), 255.0, 2))
        assert rows == len(files)
    print("done")
""")


def test_workers_start_after_this_process_used_opencv_threads(tmp_path: Path) -> None:
    bar = np.full((40, 40), 255, np.uint8)
    bar[8:32, 18:22] = 0
    for i in range(64):
        Image.fromarray(bar).save(tmp_path / f"{i:02d}.png")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr
