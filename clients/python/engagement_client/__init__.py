"""engagement-service's Python client: JSON-RPC 2.0 over TLS, one message per line.

    from engagement_client import Client

    with Client.connect("127.0.0.1", 7443, cafile="ca.pem") as client:
        client.session_authenticate(api_key="esk_...")
        print(client.engagement_list(limit=5)["items"])

Every server method is a typed method of `Client` (generated from the server's OpenRPC document, `rpc.discover`:
see `generate.py`); `Client.call(name, params)` reaches any method by name. Errors are exceptions carrying the
JSON-RPC code, message and data (`errors.py`, generated too).
"""
from .connection import CLEAR, Connection, Event, ProtocolError
from .client import Client
from .errors import RPCError, error_for

__all__ = ["CLEAR", "Client", "Connection", "Event", "ProtocolError", "RPCError", "error_for"]
