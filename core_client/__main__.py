"""``python -m tracklet`` is the ``tracklet`` command."""

import sys

from .cli import main

sys.exit(main())
