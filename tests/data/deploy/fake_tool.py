#!/usr/bin/env python3
"""A stand-in for kubectl or helm: logs its arguments (one JSON list per line to
$FAKE_LOG) and answers as the rule in $FAKE_RULES whose "argv" equals them exactly says
(stdout from a file in this folder or as "text", stderr, exit code, a pause); any other
arguments exit
64, so a test sees every command that differs from what it expects."""

import json
import os
import sys
import time
from pathlib import Path

argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(argv) + "\n")
for rule in json.loads(Path(os.environ["FAKE_RULES"]).read_text(encoding="utf-8")):
    if rule["argv"] == argv:
        time.sleep(rule.get("sleep", 0))
        if "stdout" in rule:
            sys.stdout.write((Path(__file__).parent / rule["stdout"]).read_text(encoding="utf-8"))
        sys.stdout.write(rule.get("text", ""))
        sys.stderr.write(rule.get("stderr", ""))
        sys.exit(rule.get("exit", 0))
sys.stderr.write("fake tool: unexpected arguments: " + " ".join(argv) + "\n")
sys.exit(64)
