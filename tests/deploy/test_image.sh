#!/usr/bin/env bash
# Build the Docker image, run it, and check that it serves what the app serves (README: Deploy).
#
#   tests/deploy/test_image.sh     # with docker, or podman where no Docker engine answers
#   make test-image                # the same through scripts/with-container-engine, which sets up
#                                  # podman and the local torch wheel on a machine with no engine
#
# Environment: CONTAINER_ENGINE (docker or podman), IMAGE (tag; vae-latent-explorer:test),
# PIP_FIND_LINKS (local wheels for the build, which then runs on the host's network to reach them),
# TORCH_INDEX_URL (when set, even to nothing, replaces the Dockerfile's CPU index), MAX_IMAGE_MB
# (1300), READY_TIMEOUT (seconds; 180). The image is kept; the container is removed however it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-vae-latent-explorer:test}
MAX_IMAGE_MB=${MAX_IMAGE_MB:-1300}
READY_TIMEOUT=${READY_TIMEOUT:-180}
WORKERS=2 # more than the image's default of 1: shows the VAE_ variables reach the app
# the issue's contract; the default model (mnist-z2) has a 2-D latent space and 28x28 images
DECODE='/decode?z=0.5,-1.2'
GRID='/grid?z0=-3..3&z1=-3..3&steps=15'

work=$(mktemp -d)
cid=""
passed=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() {
  echo "ok: $*"
  passed=$((passed + 1))
}
cleanup() {
  local status=$?
  if [ -n "$cid" ]; then
    if [ "$status" -ne 0 ]; then
      echo "--- container log, last 40 lines" >&2
      "$ENGINE" logs --tail 40 "$cid" >&2 2>&1 || true
    fi
    "$ENGINE" rm -f "$cid" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  [ "$status" -eq 0 ] || echo "image: $passed passed, 1 failed"
}
trap cleanup EXIT

if [ -z "${CONTAINER_ENGINE:-}" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    CONTAINER_ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then
    CONTAINER_ENGINE=podman
  else
    fail "no container engine: install Docker or podman, or run 'make test-image' on a machine with ../shared/tools"
  fi
fi
ENGINE=$CONTAINER_ENGINE
podman=false
[ "$(basename "$ENGINE")" = podman ] && podman=true

# --- build -----------------------------------------------------------------------------------------
build=(build -t "$IMAGE")
$podman && build+=(--format docker) # podman's default OCI format drops the HEALTHCHECK
if [ -n "${PIP_FIND_LINKS:-}" ]; then
  build+=(--network host --build-arg "PIP_FIND_LINKS=$PIP_FIND_LINKS")
fi
if [ -n "${TORCH_INDEX_URL+set}" ]; then
  build+=(--build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL")
fi
echo "== $ENGINE ${build[*]} ."
started=$SECONDS
if ! "$ENGINE" "${build[@]}" . 2>&1 | tee "$work/build.log"; then
  if grep -q "error: torch .* CUDA .* build\|error: a CPU image should hold no NVIDIA" "$work/build.log"; then
    fail "the build installed a CUDA torch instead of the CPU wheel (pass PIP_FIND_LINKS or TORCH_INDEX_URL)"
  fi
  fail "the image did not build"
fi
pass "built $IMAGE in $((SECONDS - started))s"

size=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")
[ $((size / 1000000)) -le "$MAX_IMAGE_MB" ] ||
  fail "the image is $((size / 1000000)) MB, over the $MAX_IMAGE_MB MB target (a CUDA torch?)"
pass "image size $((size / 1000000)) MB (target <= $MAX_IMAGE_MB MB)"

user=$("$ENGINE" image inspect --format '{{.Config.User}}' "$IMAGE")
case "${user%%:*}" in "" | 0 | root) fail "the image runs as root (USER '$user')" ;; esac
# the health check's command, one argument a line: ["CMD", arg...] or ["CMD-SHELL", "command"]
"$ENGINE" image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | python3 -c '
import json, sys
hc = json.load(sys.stdin) or {}
test = hc.get("Test") or ["NONE"]
kind, args = test[0], test[1:]
if kind not in ("CMD", "CMD-SHELL"):
    sys.exit(f"the image has no HEALTHCHECK (config: {hc})")
print(*(args if kind == "CMD" else ["sh", "-c", *args]), sep="\n")' >"$work/healthcheck" ||
  fail "no HEALTHCHECK in the image (podman: build with --format docker)"
mapfile -t healthcheck <"$work/healthcheck"

# --- run -------------------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
# read-only root with a writable /tmp, as deploy/k8s runs it; podman without systemd complains on
# stderr that it cannot schedule health checks (this script runs them), hence run.err
cid=$("$ENGINE" run -d --read-only --tmpfs /tmp -p "127.0.0.1:$port:8000" \
  -e VAE_WORKERS=$WORKERS -e VAE_TORCH_THREADS=1 "$IMAGE" 2>"$work/run.err") ||
  fail "the container did not start: $(cat "$work/run.err")"
started=$SECONDS
until curl -fsS -o "$work/readyz.json" "$base/readyz" 2>/dev/null; do
  [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$cid")" = true ] ||
    fail "the container exited before it was ready"
  [ $((SECONDS - started)) -lt "$READY_TIMEOUT" ] || fail "/readyz did not answer 200 within ${READY_TIMEOUT}s"
  sleep 1
done
pass "/readyz answered 200 after $((SECONDS - started))s on $base: $(cat "$work/readyz.json")"

# --- inside the container --------------------------------------------------------------------------
"$ENGINE" exec "$cid" python deploy/torch_variant.py cpu ||
  fail "the image's torch is not the CPU wheel (torch.version.cuda is set, or NVIDIA packages are in)"
pass "torch in the image is the CPU build (torch.version.cuda is None, no NVIDIA packages)"

# every process: pid, uid, resident KiB, command line
"$ENGINE" exec "$cid" python -c '
from pathlib import Path
for p in Path("/proc").iterdir():
    try:
        status = dict(line.split(":", 1) for line in (p / "status").read_text().splitlines())
        cmd = " ".join((p / "cmdline").read_bytes().replace(b"\0", b" ").decode().split())[:72]
    except (OSError, ValueError):
        continue  # not a process, or gone
    print(p.name, status["Uid"].split()[0], status.get("VmRSS", "0 kB").split()[0], cmd)' >"$work/ps" ||
  fail "could not list the container's processes"
awk '$2 == 0 { bad = 1; print "  root process:", $0 } END { exit bad }' "$work/ps" ||
  fail "a process in the container runs as root"
pass "every process in the container runs as uid $(awk '{ print $2 }' "$work/ps" | sort -u | paste -sd,) (not root)"
workers=$(grep -c 'spawn_main' "$work/ps" || true)
[ "$workers" -eq "$WORKERS" ] || fail "VAE_WORKERS=$WORKERS but $workers worker processes run:
$(cat "$work/ps")"
rss=$(grep -v 'Path("/proc")' "$work/ps" | awk '{ kib += $3 } END { print int(kib / 1024) }')
pass "VAE_WORKERS=$WORKERS gave $workers uvicorn workers; the server holds $rss MiB resident in all:
$(grep -v 'Path("/proc")' "$work/ps" | awk '{ printf "  pid %s uid %s %d MiB %s\n", $1, $2, $3 / 1024, substr($0, index($0, $4)) }')"

# --- the endpoints ---------------------------------------------------------------------------------
png_size() { # the WxH of a complete, well-formed PNG file, or an error
  python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"not a PNG: {data[:60]!r}")
pos, idat, chunks = 8, b"", []
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos : pos + 8])
    body = data[pos + 8 : pos + 8 + length]
    if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]:
        sys.exit(f"bad CRC in the {kind!r} chunk")
    chunks.append(kind)
    idat += body if kind == b"IDAT" else b""
    pos += 12 + length
if chunks[0] != b"IHDR" or chunks[-1] != b"IEND":
    sys.exit(f"a truncated PNG: chunks {chunks}")
w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
if len(zlib.decompress(idat)) != h * (1 + (w * channels * depth + 7) // 8):
    sys.exit("the pixel data does not fill the image")
print(f"{w}x{h}")
EOF
}
expect_png() { # NAME SIZE URL [curl options]: a 200 image/png of SIZE, kept as $work/NAME
  local name=$1 want=$2 url=$3 got
  shift 3
  got=$(curl -sS -o "$work/$name" -w '%{http_code} %{content_type}' "$@" "$base$url") || fail "$url: no answer"
  [ "$got" = "200 image/png" ] || fail "$url answered $got: $(head -c 300 "$work/$name")"
  got=$(png_size "$work/$name") || fail "$url: $got"
  [ "$got" = "$want" ] || fail "$url: a ${got} PNG, expected $want"
  pass "$url: 200 image/png, a valid $got PNG"
}
expect_png decode.png 28x28 "$DECODE"
expect_png grid.png 420x420 "$GRID"
# upload the decoded digit: the reconstruction of a decoded image
expect_png reconstruct.png 28x28 /reconstruct -X POST -F "image=@$work/decode.png;type=image/png"

for _ in 1 2 3 4; do # requests spread over the workers; every one must answer the same bytes
  { curl -fsS -o "$work/again.png" "$base$DECODE" && cmp -s "$work/again.png" "$work/decode.png"; } ||
    fail "$DECODE answered different bytes on a later request"
done
pass "$DECODE answers identical bytes on repeated requests"

# the page needs templates/ and static/ in the image too
got=$(curl -sS -o "$work/page.html" -w '%{http_code} %{content_type}' "$base/") || fail "/: no answer"
case "$got" in "200 text/html"*) ;; *) fail "/ answered $got, expected 200 text/html" ;; esac
curl -fsS -o /dev/null "$base/static/htmx.min.js" || fail "/static/htmx.min.js is not served"
pass "/ answers $got and its static files are served"

code=$(curl -sS -o "$work/bad.json" -w '%{http_code}' "$base/decode?z=nan,oops")
[ "${code:0:1}" = 4 ] || fail "/decode?z=nan,oops answered $code, expected a 4xx: $(cat "$work/bad.json")"
pass "/decode?z=nan,oops: $code $(head -c 160 "$work/bad.json")"

# the same requests answered by the app in this checkout's venv: the image must serve the same pixels
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import fastapi.testclient, PIL, server.app' 2>/dev/null; then
  .venv/bin/python -W ignore - "$work" "$base" "$DECODE" "$GRID" <<'EOF' || fail "the image and the local app disagree"
import io, json, sys, urllib.request
from pathlib import Path
import numpy as np
from PIL import Image
from fastapi.testclient import TestClient
from server.app import create_app

work, base, decode, grid = Path(sys.argv[1]), *sys.argv[2:]
with TestClient(create_app()) as client:
    theirs = {c["name"]: c.get("sha256") for c in json.load(urllib.request.urlopen(base + "/models"))}
    ours = {c["name"]: c.get("sha256") for c in client.get("/models").json()}
    if theirs != ours:
        print("skipped the comparison with the local app: weights/ changed since the image was built")
        sys.exit(0)
    upload = {"image": ("decode.png", (work / "decode.png").read_bytes(), "image/png")}
    local = {
        "decode.png": client.get(decode).content,
        "grid.png": client.get(grid).content,
        "reconstruct.png": client.post("/reconstruct", files=upload).content,
    }
for name, body in local.items():
    a = np.asarray(Image.open(io.BytesIO(body)), dtype=int)
    b = np.asarray(Image.open(work / name), dtype=int)
    diff = np.abs(a - b).max() if a.shape == b.shape else None
    print(f"  {name}: local {a.shape}, image {b.shape}, largest pixel difference {diff}")
    if diff is None or diff > 1:
        sys.exit(f"{name} differs between the image and the local app")
EOF
  pass "the image serves the same pixels as the app in .venv (decode, grid, reconstruct)"
else
  echo "skip: no .venv with the app and its test extra, so no comparison with the local app"
fi

# --- health check, non-root, removal ---------------------------------------------------------------
if $podman; then
  "$ENGINE" healthcheck run "$cid" || fail "podman healthcheck run: unhealthy"
fi
"$ENGINE" exec "$cid" "${healthcheck[@]}" || fail "the image's HEALTHCHECK command failed on a running server"
# and it must be able to fail: the same command where no server runs
if "$ENGINE" run --rm "$IMAGE" "${healthcheck[@]}" >/dev/null 2>&1; then
  fail "the HEALTHCHECK passes even where no server runs"
fi
pass "the HEALTHCHECK passes on the running server and fails where none runs"

"$ENGINE" rm -f "$cid" >/dev/null 2>&1 || fail "could not remove the container"
[ -z "$("$ENGINE" ps -aq --filter "id=$cid")" ] || fail "the container is still there after rm"
cid=""
pass "the container is removed"
echo "image: $passed passed, 0 failed"
