"""A local stand-in for the ABC Sales AI API and its webhook sender, and the sandbox around it.

May import ``responder.platform.shapes`` (to build deliveries the way the platform would),
``responder.errors``, flask, werkzeug and httpx. The service never imports it; the CLI's
sandbox and the tests do.
"""

from responder.simulator.app import Fault, Simulator

__all__ = ["Fault", "Simulator"]
