#!/usr/bin/env python3
"""Test helper: an OTLP/HTTP trace receiver, as an OpenTelemetry collector's would answer.

    otlp_receiver.py PORT_FILE SPANS_FILE

Listens on 127.0.0.1 (any free port, written to PORT_FILE), accepts POST /v1/traces in either OTLP/HTTP encoding
(application/x-protobuf or application/json), decodes it with the reference classes of opentelemetry-proto (so a
malformed export fails here, not in a hand-written parser), and appends one JSON line per span to SPANS_FILE:
its trace and span ids in hex, parent span id, name, kind, status and attributes, with the resource's service name
and the encoding it came in. Runs until killed.
"""
import base64
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def is_hex_id(text):
    return len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text)


def spans(request, encoding):
    for resource_spans in request.resource_spans:
        resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "service": resource.get("service.name"),
                    "encoding": encoding,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": span.kind,
                    "status": span.status.code,
                    "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano,
                    "attributes": {a.key: value(a.value) for a in span.attributes},
                }


def main():
    port_file, spans_file = sys.argv[1], sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            content_type = self.headers.get("Content-Type", "")
            request = ExportTraceServiceRequest()
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            if content_type.startswith("application/json"):
                # OTLP/JSON specifies trace and span ids as hex, where protobuf's JSON mapping (which swift-otel
                # 1.6 writes) has base64: take either.
                document = json.loads(body)
                for resource_spans in document.get("resourceSpans", []):
                    for scope_spans in resource_spans.get("scopeSpans", []):
                        for span in scope_spans.get("spans", []):
                            for key in ("traceId", "spanId", "parentSpanId"):
                                if is_hex_id(span.get(key, "")):
                                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
                json_format.ParseDict(document, request)
                encoding = "json"
            else:
                request.ParseFromString(body)
                encoding = "protobuf"
            with open(spans_file, "a") as out:
                for span in spans(request, encoding):
                    out.write(json.dumps(span) + "\n")
            reply = ExportTraceServiceResponse()
            if encoding == "json":
                payload, reply_type = json_format.MessageToJson(reply).encode(), "application/json"
            else:
                payload, reply_type = reply.SerializeToString(), "application/x-protobuf"
            self.send_response(200)
            self.send_header("Content-Type", reply_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
