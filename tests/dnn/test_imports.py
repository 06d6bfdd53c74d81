"""torchvision is imported lazily: importing the science layers never loads it, and knnoise works beside
a torch whose torchvision does not load (only DenseNet-121 and the two downloaders need it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_importing_knnoise_leaves_torchvision_out():
    out = _run(
        "import sys\n"
        "import knnoise, knnoise.data, knnoise.dnn, knnoise.noise, knnoise.knn\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision'))\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_works_beside_a_torchvision_that_does_not_load():
    out = _run(
        "import sys\n"
        "sys.modules['torchvision'] = None  # every `import torchvision` now fails\n"
        "import knnoise, knnoise.data, knnoise.dnn, knnoise.noise, knnoise.knn\n"
        "ds = knnoise.data.load('digits').subset(n_train=200, n_test=50, seed=0)\n"
        "r = knnoise.dnn.train(ds, ds.y_train, epochs=1, batch_size=64, lr=0.003, lr_halving_every=None,\n"
        "                      seed=0, progress=False, device='cpu', train_outputs=False)\n"
        "print(r.test_softmax.shape)\n"
        "try:\n"
        "    knnoise.dnn.build_model('densenet121', 10, 3)\n"
        "except ImportError as err:\n"
        "    print('densenet121 needs torchvision:', type(err).__name__)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["(50, 10)", "densenet121 needs torchvision: ModuleNotFoundError"]
