"""``python -m knnoise.book``: the runner (see :mod:`knnoise.book.cli`)."""

import sys

from knnoise.book.cli import main

sys.exit(main())
