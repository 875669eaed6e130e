"""The processes ``responder serve`` starts end when it ends, however it ends.

On TERM or INT, serve stops gunicorn and the simulator itself (responder/cli.py). Killed
(SIGKILL, the out-of-memory killer), it can do nothing, and they would go on holding the
service's port and the simulator's, so that the next ``responder serve`` could not start.
So each of them asks the kernel, as it starts, for SIGTERM once serve is gone (Linux's
parent-death signal): gunicorn then stops as on any TERM, letting its workers finish the
sends they have started, and the simulator exits.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

from responder.config import started_by

log = logging.getLogger("responder.lifeline")

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_serve() -> None:
    """If ``responder serve`` started this process, receive SIGTERM when it ends; at once if
    it has ended already. Does nothing for a process started any other way, and nothing but
    the check at start on systems without a parent-death signal."""
    serve = started_by()
    if serve is None:
        return
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            error = os.strerror(ctypes.get_errno())
            log.warning("this process will not stop by itself if serve is killed: %s", error)
    # Set after the parent may have gone: it would never be sent.
    if os.getppid() != serve:
        os.kill(os.getpid(), signal.SIGTERM)
