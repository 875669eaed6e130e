"""The ABC Sales AI platform, as the service speaks to it.

- :mod:`~responder.platform.shapes`: the one adapter for the platform's data shapes, where
  every assumption about what the vendor leaves undocumented lives (no I/O);
- :mod:`~responder.platform.signature`: webhook signatures and timestamps (no I/O);
- :mod:`~responder.platform.client`: the HTTP client, which implements
  :class:`responder.ports.PlatformApi`.

May import: ``responder.model``, ``responder.errors``, and httpx (in ``client`` only).
"""
