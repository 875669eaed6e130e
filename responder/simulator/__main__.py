"""``python -m responder.simulator``: serve the simulator in the foreground."""

import sys

from responder.simulator.app import main

sys.exit(main())
