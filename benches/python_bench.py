"""`make bench`, Python part: Pydantic v2 `model_validate_json` (what the seed
module did) on the same payloads as the other runtimes, in rounds that
alternate with the native decoder (`examples/decode_timing.rs`, the binary
given as the second argument), so that the ratio is measured in one stretch
of the machine's time. Prints JSON: Pydantic's cases and native's, medians
over the rounds."""

import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
import pydantic  # noqa: E402
from crowd_reference import Envelope  # noqa: E402

ROUNDS = 3
payloads_path, native_bin = sys.argv[1], sys.argv[2]
payloads = json.loads(Path(payloads_path).read_text())
python_samples = {name: [] for name in payloads}
native_samples = {name: [] for name in payloads}

for round_number in range(1, ROUNDS + 1):
    print(f"bench (python): round {round_number} of {ROUNDS}: native", file=sys.stderr)
    native = json.loads(subprocess.run([native_bin, payloads_path], check=True, capture_output=True, text=True).stdout)
    for name, ns in native.items():
        native_samples[name].append(ns)
    print(f"bench (python): round {round_number} of {ROUNDS}: Pydantic", file=sys.stderr)
    for name, payload in payloads.items():
        data = payload.encode()

        def decode(data=data):
            try:
                Envelope.model_validate_json(data)
            except pydantic.ValidationError:
                pass

        timer = timeit.Timer(decode)
        number, _ = timer.autorange()
        python_samples[name].append(statistics.median(t / number * 1e9 for t in timer.repeat(repeat=3, number=number)))

cases = {name: {"bytes": len(payloads[name].encode()), "nsPerOp": statistics.median(s)} for name, s in python_samples.items()}
native_cases = {name: {"nsPerOp": statistics.median(s)} for name, s in native_samples.items() if s}
print(json.dumps({
    "runtime": f"Python {sys.version.split()[0]}, Pydantic {pydantic.VERSION}",
    "rounds": ROUNDS,
    "cases": cases,
    "native": native_cases,
}))
