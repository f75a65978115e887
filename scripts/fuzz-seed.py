"""Seeds a fuzz corpus directory with the parity corpus's payloads (each
under 100 KB), one file each, named by its SHA-1.

Usage: python3 scripts/fuzz-seed.py CORPUS_DIR
"""

import base64
import hashlib
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
with open("tests/vectors/corpus.jsonl", encoding="utf-8") as vectors:
    for line in vectors:
        vector = json.loads(line)
        if "payload" in vector:
            data = vector["payload"].encode()
        else:
            data = base64.b64decode(vector["payload_b64"])
        if len(data) < 100_000:
            (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
