"""The Python client against a real server. The Swift test PythonClientTests starts the server and runs these with:

    ENGAGEMENT_TEST_HOST, ENGAGEMENT_TEST_PORT, ENGAGEMENT_TEST_CA   where the server is and the CA it chains to
    ENGAGEMENT_TEST_OTHER_CA                                          a CA the server's certificate does not chain to
    ENGAGEMENT_TEST_KEY_A, ENGAGEMENT_TEST_KEY_B                      API keys of two organisations
    ENGAGEMENT_TEST_ENGAGEMENT_ID                                     an active engagement of organisation A
"""
import decimal
import os
import ssl
import unittest

from engagement_client import CLEAR, Client, RPCError
from engagement_client.connection import _decode, _encode
from engagement_client.errors import Conflict, InvalidParams, MethodNotFound, NotFound, Unauthenticated

ENV = os.environ


def connect(**options):
    return Client.connect(ENV["ENGAGEMENT_TEST_HOST"], int(ENV["ENGAGEMENT_TEST_PORT"]), cafile=ENV["ENGAGEMENT_TEST_CA"], **options)


def session(key="ENGAGEMENT_TEST_KEY_A"):
    client = connect()
    client.session_authenticate(api_key=ENV[key])
    return client


class WireFormat(unittest.TestCase):
    def test_amounts_stay_exact(self):
        self.assertEqual(_encode({"amount": decimal.Decimal("1234.10"), "n": [1, 2.5]}), '{"amount":1234.10,"n":[1,2.5]}')
        self.assertEqual(_decode(b'{"a":0.1}')["a"], decimal.Decimal("0.1"))
        self.assertEqual(_encode({"name": "Zoë \u2603"}), '{"name":"Zoë \u2603"}')


class AgainstTheServer(unittest.TestCase):
    def test_five_lines(self):
        with connect() as client:
            client.session_authenticate(api_key=ENV["ENGAGEMENT_TEST_KEY_A"])
            me = client.session_whoami()
        self.assertEqual(me["organisation"]["name"], "Organisation A")

    def test_typed_errors_carry_code_reason_and_fields(self):
        with connect() as client:
            with self.assertRaises(Unauthenticated):
                client.party_list()
            client.session_authenticate(api_key=ENV["ENGAGEMENT_TEST_KEY_A"])
            with self.assertRaises(NotFound) as missing:
                client.party_get(id="00000000-0000-4000-8000-000000000000")
            self.assertEqual((missing.exception.code, missing.exception.reason), (-32003, "not_found"))
            with self.assertRaises(InvalidParams) as invalid:
                client.party_create(name="", kind="customer")
            self.assertEqual(invalid.exception.data["fields"][0]["path"], "params.name")
            with self.assertRaises(MethodNotFound):
                client.call("no.such_method")
            self.assertTrue(issubclass(Conflict, RPCError))

    def test_writes_updates_and_clearing_a_value(self):
        with session() as client:
            party = client.party_create(name="Python Ltd", kind="customer", external_ref="PY-1", idempotency_key="py-1")
            again = client.party_create(name="Python Ltd", kind="customer", external_ref="PY-1", idempotency_key="py-1")
            self.assertEqual(party["id"], again["id"], "a retried create replays")
            updated = client.party_update(id=party["id"], version=party["version"], external_ref=CLEAR)
            self.assertIsNone(updated.get("external_ref"), "CLEAR sends null")
            with self.assertRaises(Conflict) as stale:
                client.party_update(id=party["id"], version=party["version"], name="Stale")
            self.assertEqual(stale.exception.reason, "stale_version")

    def test_pipelined_replies_out_of_order_come_back_in_call_order(self):
        with session() as client:
            outcomes = client.pipeline([
                ("test.tenant_sleep", {"ms": 400}), ("system.ping", None),
                ("party.get", {"id": "00000000-0000-4000-8000-000000000000"}), ("session.whoami", None),
            ])
        self.assertIs(outcomes[0], True)
        self.assertEqual(outcomes[1]["status"], "ok")
        self.assertIsInstance(outcomes[2], NotFound)
        self.assertEqual(outcomes[3]["organisation"]["name"], "Organisation A")

    def test_batch(self):
        with session() as client:
            ping, whoami = client.batch([("system.ping", None), ("session.whoami", None)])
        self.assertEqual(ping["status"], "ok")
        self.assertEqual(whoami["role"], "admin")

    def test_events_are_pushed_to_a_subscriber(self):
        with session() as listener, session() as writer:
            subscription = listener.events_subscribe(types=["note"])["subscription"]
            writer.timeline_note(engagement_id=ENV["ENGAGEMENT_TEST_ENGAGEMENT_ID"], title="From Python")
            found = None
            for event in listener.events(timeout=10):
                if (event.method == "events.event" and event.params["subscription"] == subscription
                        and event.params["event"]["title"] == "From Python"):
                    found = event
                    break
        self.assertIsNotNone(found, "the note was pushed")

    def test_another_organisation_sees_nothing(self):
        with session() as a, session("ENGAGEMENT_TEST_KEY_B") as b:
            party = a.party_create(name="Only A's", kind="customer")
            with self.assertRaises(NotFound):
                b.party_get(id=party["id"])

    def test_the_server_is_verified(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            Client.connect(ENV["ENGAGEMENT_TEST_HOST"], int(ENV["ENGAGEMENT_TEST_PORT"]), cafile=ENV["ENGAGEMENT_TEST_OTHER_CA"])
        with self.assertRaises(ssl.SSLCertVerificationError):
            connect(server_hostname="not-the-server.example")


if __name__ == "__main__":
    unittest.main()
