"""`make bench`, Python part: Pydantic v2 `model_validate_json` (what the seed
module did) on the same payloads as the other runtimes. Prints JSON."""

import json
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
import pydantic  # noqa: E402
from crowd_reference import Envelope  # noqa: E402

payloads = json.loads(Path(sys.argv[1]).read_text())
results = {}
for name, payload in payloads.items():
    data = payload.encode()

    def decode(data=data):
        try:
            Envelope.model_validate_json(data)
        except pydantic.ValidationError:
            pass

    timer = timeit.Timer(decode)
    number, _ = timer.autorange()
    samples = [t / number * 1e9 for t in timer.repeat(repeat=5, number=number)]
    results[name] = {"bytes": len(data), "nsPerOp": statistics.median(samples)}
    print(f"bench (python): {name}", file=sys.stderr)
print(json.dumps({"runtime": f"Python {sys.version.split()[0]}, Pydantic {pydantic.VERSION}", "cases": results}))
