#!/usr/bin/env python3
"""Test helper: fetches a URL of the monitoring endpoint and prints one JSON object.

    http_probe.py get URL       -> {"status": 200, "content_type": "...", "body": "..."}
    http_probe.py post URL      -> the same, for a POST with an empty body
    http_probe.py metrics URL   -> {"status": 200, "samples": [{"name", "labels", "value"}, ...], "families": {...}}

`metrics` parses the body with prometheus_client's text parser (the reference Python implementation of the
Prometheus exposition format), so a malformed exposition fails here, not in a hand-written parser.
"""
import json
import sys
import urllib.error
import urllib.request


def fetch(url, method="GET"):
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8")


def main():
    mode, url = sys.argv[1], sys.argv[2]
    status, content_type, body = fetch(url, "POST" if mode == "post" else "GET")
    if mode in ("get", "post"):
        print(json.dumps({"status": status, "content_type": content_type, "body": body}))
        return
    from prometheus_client.parser import text_string_to_metric_families

    samples, families = [], {}
    for family in text_string_to_metric_families(body):
        families[family.name] = {"type": family.type, "help": family.documentation}
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    print(json.dumps({"status": status, "content_type": content_type, "samples": samples, "families": families}))


if __name__ == "__main__":
    main()
