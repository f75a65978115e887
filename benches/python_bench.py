"""`make bench`, Python part: Pydantic v2 `model_validate_json` (what the seed
module did) and the Python package's `decode_envelope` (the same Rust decoder,
the result object included) on the same payloads as the other runtimes, in
rounds that alternate with the native decoder (`examples/decode_timing.rs`,
the binary given as the second argument), so that the ratios are measured in
one stretch of the machine's time. Prints JSON: Pydantic's cases, the
package's and native's, medians over the rounds."""

import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
import pydantic  # noqa: E402
from crowd_reference import Envelope  # noqa: E402

import crowd_envelope  # noqa: E402

ROUNDS = 3
payloads_path, native_bin = sys.argv[1], sys.argv[2]
payloads = json.loads(Path(payloads_path).read_text())
python_samples = {name: [] for name in payloads}
native_samples = {name: [] for name in payloads}
package_samples = {name: [] for name in payloads}


def ns_per_op(function):
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return statistics.median(t / number * 1e9 for t in timer.repeat(repeat=3, number=number))

for round_number in range(1, ROUNDS + 1):
    print(f"bench (python): round {round_number} of {ROUNDS}: native", file=sys.stderr)
    native = json.loads(subprocess.run([native_bin, payloads_path], check=True, capture_output=True, text=True).stdout)
    for name, ns in native.items():
        native_samples[name].append(ns)
    print(f"bench (python): round {round_number} of {ROUNDS}: Pydantic and the package", file=sys.stderr)
    for name, payload in payloads.items():
        data = payload.encode()

        def decode(data=data):
            try:
                Envelope.model_validate_json(data)
            except pydantic.ValidationError:
                pass

        python_samples[name].append(ns_per_op(decode))
        if len(data) <= 1 << 20:
            package_samples[name].append(ns_per_op(lambda data=data: crowd_envelope.decode_envelope(data)))
        else:
            limit = len(data)
            package_samples[name].append(
                ns_per_op(lambda data=data: crowd_envelope.decode_envelope(data, max_payload_bytes=limit))
            )

cases = {name: {"bytes": len(payloads[name].encode()), "nsPerOp": statistics.median(s)} for name, s in python_samples.items()}
native_cases = {name: {"nsPerOp": statistics.median(s)} for name, s in native_samples.items() if s}
package_cases = {name: {"nsPerOp": statistics.median(s)} for name, s in package_samples.items()}
print(json.dumps({
    "runtime": f"Python {sys.version.split()[0]}, Pydantic {pydantic.VERSION}",
    "rounds": ROUNDS,
    "cases": cases,
    "native": native_cases,
    "package": package_cases,
}))
