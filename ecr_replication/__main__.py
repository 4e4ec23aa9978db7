"""``python -m ecr_replication``: the same as the ``ecr-replication`` console command."""

import sys

from .cli import main

sys.exit(main())
