"""How a bench ends: the machine's load after the run beside the load
before it (figures from a busy machine say so), the JSON file, and the
report on stdout."""

import json
import os
from pathlib import Path


def report_write(report: dict, out: str) -> None:
    report["load_average_after"] = os.getloadavg()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
