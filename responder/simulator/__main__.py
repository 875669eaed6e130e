"""``python -m responder.simulator``: serve the simulator in the foreground."""

import sys

from responder.simulator.cli import main

sys.exit(main())
