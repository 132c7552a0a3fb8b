# Shared by scripts/test and scripts/local. Source it; don't run it.

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# Under scripts/test (SCRIPTS_TEST_STARTED, the epoch second it started), each step line carries
# the run's elapsed time, so a CI log shows where the minutes go.
say() {
  if [ -n "${SCRIPTS_TEST_STARTED:-}" ]; then
    local t=$(($(date +%s) - SCRIPTS_TEST_STARTED))
    printf '==> [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*" >&2
  else
    printf '==> %s\n' "$*" >&2
  fi
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"
}

# Install the pinned Python tools unless they are already there.
ensure_python_tools() {
  need python3 "Install Python 3.9 or newer."
  if ! python3 -c 'import moto.server, werkzeug' >/dev/null 2>&1 || ! command -v cfn-lint >/dev/null 2>&1; then
    say "installing Python tools (scripts/requirements.txt)"
    python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt \
      || die "pip could not install scripts/requirements.txt"
  fi
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_in_use() {
  python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# Wait until something listens on 127.0.0.1:$1 (or give up after $2 seconds).
wait_for_port() {
  local port=$1 limit=${2:-30} waited=0
  until port_in_use "$port"; do
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt $((limit * 5)) ] || return 1
  done
}

# Start the local DynamoDB-compatible server on 127.0.0.1:$1, logging to $2. Sets DYNAMODB_PID.
start_dynamodb() {
  local port=$1 log=$2
  port_in_use "$port" && die "port $port is already in use; set another with DYNAMODB_PORT=..."
  python3 scripts/dynamodb_local.py --port "$port" >"$log" 2>&1 &
  DYNAMODB_PID=$!
  wait_for_port "$port" 30 || die "the local DynamoDB server did not start; see $log"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  # The SDK needs a region and some credentials; the local server accepts any.
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
}

# The AWS SAM CLI in .local/sam-venv (pinned), installed on first use. Fails softly.
ensure_sam_cli() {
  [ -x .local/sam-venv/bin/sam ] && return 0
  say "installing the AWS SAM CLI into .local/sam-venv (first run only)"
  python3 -m venv .local/sam-venv >/dev/null 2>&1 \
    && .local/sam-venv/bin/python -m pip install --quiet --disable-pip-version-check 'aws-sam-cli==1.170.0' >.local/sam-install.log 2>&1
}

# A virtualenv .local/$1 holding the pins of requirements file $2 (one `name==version` a line;
# comments on lines of their own), installed on first use and again when a pin changes; its own
# virtualenv so that its pins never move moto's. Fails softly (log: .local/$1-install.log).
ensure_venv() {
  local venv=.local/$1 requirements=$2
  local installed
  local missing
  installed=$("$venv/bin/pip" freeze 2>/dev/null || true)
  # Up to date when every pinned line is installed as pinned.
  missing=$(grep -v -e '^#' -e '^$' "$requirements" | grep -vxF -f <(printf '%s\n' "$installed") || true)
  [ -x "$venv/bin/python" ] && [ -z "$missing" ] && return 0
  say "installing $requirements into $venv"
  python3 -m venv "$venv" >/dev/null 2>&1 \
    && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$requirements" >".local/$1-install.log" 2>&1
}

# schemathesis (the OpenAPI fuzzer) in .local/schemathesis-venv, pinned in
# scripts/requirements-schemathesis.txt.
ensure_schemathesis() {
  ensure_venv schemathesis-venv scripts/requirements-schemathesis.txt
}

# openapi-python-client (a Python client generated from openapi.yaml) in
# .local/openapi-client-venv, pinned in scripts/requirements-openapi-client.txt.
ensure_openapi_client() {
  ensure_venv openapi-client-venv scripts/requirements-openapi-client.txt
}

# Spectral (the OpenAPI linter) in .local/spectral: exactly the tree of scripts/spectral's lock
# file (`npm ci`), without install scripts (one dependency's only phones home). Fails softly
# (log: .local/spectral-install.log).
ensure_spectral() {
  need npm "Install Node.js 20 or newer, with npm."
  [ -x .local/spectral/node_modules/.bin/spectral ] \
    && cmp -s scripts/spectral/package-lock.json .local/spectral/package-lock.json && return 0
  say "installing Spectral into .local/spectral (scripts/spectral/package-lock.json)"
  mkdir -p .local/spectral \
    && cp scripts/spectral/package.json scripts/spectral/package-lock.json .local/spectral/ \
    && (cd .local/spectral && npm ci --ignore-scripts --no-audit --no-fund) >.local/spectral-install.log 2>&1
}

# Headless Chromium and its WebDriver (Debian's chromium and chromium-driver), for the review
# console's browser test (shared/tests/integration/console.rs). Installed with apt-get (as root,
# or through sudo) unless chromedriver is already on PATH or CHROMEDRIVER names it. Fails with
# the install's log (.local/chromium-install.log).
ensure_chromium() {
  if [ -n "${CHROMEDRIVER:-}" ] || command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  [ -z "$sudo" ] || command -v sudo >/dev/null 2>&1 \
    || die "chromedriver is not installed, and installing it needs root: apt-get install chromium chromium-driver"
  command -v apt-get >/dev/null 2>&1 \
    || die "chromedriver is not installed: install Chromium and its ChromeDriver, or set CHROMEDRIVER and CHROMIUM"
  say "installing chromium and chromium-driver (apt-get; log: .local/chromium-install.log)"
  mkdir -p .local
  { $sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver
  } >.local/chromium-install.log 2>&1 \
    || die "apt-get could not install chromium and chromium-driver; see .local/chromium-install.log"
  command -v chromedriver >/dev/null 2>&1 || die "chromium-driver was installed but chromedriver is not on PATH"
}

# The Lambda functions, one binary crate each under functions/ (the directory is the binary's
# name): what is deployed, sized and benchmarked. Scripts source this from the repository root.
mapfile -t FUNCTIONS < <(ls functions)

# cargo lambda (with zig, from PyPI) and the aarch64 standard library (rustup), for the arm64
# bootstraps Lambda runs. Prints why and fails when either cannot be installed.
ensure_arm64_toolchain() {
  if ! command -v cargo-lambda >/dev/null 2>&1; then
    say "installing cargo-lambda (brings zig) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check cargo-lambda \
      || { echo "cargo-lambda could not be installed from PyPI"; return 1; }
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    say "installing the aarch64-unknown-linux-gnu standard library (rustup)"
    rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 \
      || { echo "rustup could not install the aarch64-unknown-linux-gnu standard library"; return 1; }
  fi
}

# `cargo lambda build --release --arm64` of the named binaries: target/lambda/<name>/bootstrap.
build_arm64() {
  local bins=() bin
  for bin in "$@"; do bins+=(--bin "$bin"); done
  say "release build, arm64 (cargo lambda build --arm64): $*"
  cargo lambda build --release --arm64 --locked "${bins[@]}"
}
