#!/usr/bin/env python3
"""Test helper: prints a YAML file (anchors and merge keys resolved) as JSON, with PyYAML's safe loader."""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as source:
    print(json.dumps(yaml.safe_load(source)))
