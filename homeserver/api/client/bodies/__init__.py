"""The client-server API's request bodies, one module per area.

Each model is the contract of its endpoints, as the spec's request schemas
describe it (``client-server.bundled.json``); ``ApiRequest.parse`` validates a
body against it (``api/http/body.py``), so the services get typed values.
"""
