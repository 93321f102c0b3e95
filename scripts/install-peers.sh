#!/usr/bin/env bash
# Installs the real tools the interop tests talk to, from Debian's packages, when they are missing.
# As root it installs them; otherwise it says what is missing and the tests that need them fail.
set -euo pipefail
declare -A pkg=(
  [openssl]=openssl [cfssl]=golang-cfssl [cfssljson]=golang-cfssl
  [etcd]=etcd-server [etcdctl]=etcd-client [kubectl]=kubernetes-client
  [sshd]=openssh-server [ssh-keygen]=openssh-client [sudo]=sudo [ip]=iproute2 [tmux]=tmux
  [zsh]=zsh [fish]=fish [shellcheck]=shellcheck [dash]=dash [strace]=strace [systemd-analyze]=systemd [setpriv]=util-linux [chromium]=chromium
  [nsenter]=util-linux [modprobe]=kmod [iptables]=iptables [nslookup]=bind9-dnsutils [curl]=curl [jq]=jq [python3]=python3
  # runc is built with seccomp (cgo): its headers and pkg-config.
  [pkg-config]=pkg-config
)
missing=()
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: missing ${missing[*]} and not root: the tests that need them will fail" >&2
  exit 0
fi
echo "install-peers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
