"""``python -m tracklet`` is the ``tracklet`` command."""

import sys

from ._cli import main

sys.exit(main())
