"""Reads Prometheus text (exposition format 0.0.4) on stdin with the official client's parser
and prints what it found as JSON: {family: {"type": ..., "samples": [[name, labels, value]]}}.
A text the parser refuses fails the script."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
print(json.dumps(families))
