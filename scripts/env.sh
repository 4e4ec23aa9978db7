# Sourced by the other scripts: puts the virtual environment (Python, Node.js 24) and the pinned
# CDK CLI first on PATH and keeps the CLI off the network.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$repo/.venv/bin:$repo/node_modules/.bin:$PATH"
export CDK_DISABLE_CLI_TELEMETRY=true
