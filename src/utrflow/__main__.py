"""`python -m utrflow` runs the command line."""

import sys

from utrflow.cli import main

sys.exit(main())
