"""The ABC Sales AI platform, as the service speaks to it.

- the platform's data shapes, read and built without I/O, each module with the assumptions
  it makes about what the vendor leaves undocumented in its notes:
  :mod:`~responder.platform.deliveries` (webhook deliveries: read, and built the way the
  platform would), :mod:`~responder.platform.messages` (one message object, and what the
  service asks of a list of them) and :mod:`~responder.platform.api_bodies` (the REST API's
  request and response bodies), every value read through :mod:`~responder.platform.values`;
- :mod:`~responder.platform.signature`: webhook signatures and timestamps (no I/O);
- :mod:`~responder.platform.client`: the HTTP client, which implements
  :class:`responder.ports.PlatformApi`.

May import: ``responder.model``, ``responder.errors``, and httpx (in ``client`` only).
"""
