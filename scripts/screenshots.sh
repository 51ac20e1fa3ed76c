#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png) against the live
# test stack, in the browser the browser tests use. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/test.sh tests/browser/screenshots.py -p no:cacheprovider -q "$@"
