#!/usr/bin/env bash
# Builds the real peers the tests run (Kubernetes, etcd, containerd, runc, the CNI plugins, CoreDNS,
# Traefik, cfssl, our pause program) from their Go modules, once per module and version, into a cache
# outside the clone: $DK_PEERS_CACHE (default /var/cache/dk-bootstrap-peers).
#
#   scripts/build-peers.sh kubernetes 1.37.2      # kube-apiserver ... kubectl, kubeadm
#   scripts/build-peers.sh etcd 3.6.16            # etcd, etcdctl, etcdutl
#   scripts/build-peers.sh containerd 2.3.7 | runc 1.4.4 | cni 1.9.0 | coredns 1.14.1 | traefik 3.6.2 | cfssl 1.6.5 | pause 1
#
# Prints the folder that holds the binaries. A second caller (another suite beside this one) waits on
# the same build's lock rather than racing it; a finished build is never rebuilt. Nothing is fetched
# but Go modules through the module proxy: GOTOOLCHAIN=local, never `go get -u`.
# The whole script is one block: bash reads all of it before it runs any, so an edit of this file never changes a
# build that is running (or waiting on another's lock).
{
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${DK_PEERS_CACHE:-/var/cache/dk-bootstrap-peers}"
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GOMODCACHE="$CACHE/gomod" GOCACHE="$CACHE/gobuild" GOPATH="$CACHE/gopath"
die() { echo "build-peers: $*" >&2; exit 1; }
command -v go >/dev/null || die "no Go toolchain: install Go 1.26 at /usr/local/go (the tests need it to build their peers)"

family="${1:?usage: build-peers.sh FAMILY VERSION}"
version="${2:?usage: build-peers.sh FAMILY VERSION}"
version="${version#v}"
[[ "$version" =~ ^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.]+)?$ ]] || die "$family: version '$version' is not a release such as 1.2.3"
out="$CACHE/bin/$family/$version"
# Our own programs (peers/NAME) are built again when their sources change: the build records their hash.
source_hash=""
case "$family" in pause|webapp) source_hash="$(cat "$here/../peers/$family"/* | sha256sum | cut -d' ' -f1)" ;; esac
built() { [ -f "$out/.done" ] && { [ -z "$source_hash" ] || [ "$(cat "$out/.source" 2>/dev/null)" = "$source_hash" ]; }; }
built && { echo "$out"; exit 0; }
mkdir -p "$CACHE/locks" "$CACHE/bin/$family" "$CACHE/work"
exec 9>"$CACHE/locks/$family-$version.lock"
flock 9
built && { echo "$out"; exit 0; }

work="$(mktemp -d "$CACHE/work/$family-$version.XXXXXX")"
stage="$work/bin"
mkdir -p "$stage"
trap 'rm -rf "$work"' EXIT
log="$work/build.log"
started=$SECONDS

# go mod download, with the proxy's own words when it refuses (a version it does not serve, say).
fetch_mod() { # MODULE@VERSION -> prints the JSON field asked for ($2)
  local json
  json="$(go mod download -json "$1" 2>&1)" || true
  local err
  err="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -1)"
  [ -z "$err" ] || die "$1: the module proxy refused it: ${err%%\\n*}"
  printf '%s' "$json" | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -1
}

# A wrapper module that requires MODULE@VERSION; extra lines (replace) go in as given.
wrapper() { # DIR GO_LINE
  mkdir -p "$1"
  (cd "$1" && go mod init dkb.local/build >/dev/null 2>&1 && go mod edit -go="$2")
}

build_kubernetes() {
  local V="v$version" minor patch
  minor="$(echo "$version" | cut -d. -f2)"; patch="$(echo "$version" | cut -d. -f3 | cut -d- -f1)"
  local gomod; gomod="$(fetch_mod "k8s.io/kubernetes@$V" GoMod)"
  local w="$work/mod"; wrapper "$w" "$(awk '$1=="go"{print $2; exit}' "$gomod")"
  cd "$w"
  local godebug; godebug="$(awk '$1=="godebug"{print $2; exit}' "$gomod")"
  [ -z "$godebug" ] || go mod edit -godebug="$godebug"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging: here,
  # each becomes the published k8s.io/X v0.MINOR.PATCH.
  local m
  for m in $(awk '$1 ~ /^k8s\.io\// && $2=="v0.0.0" {print $1}' "$gomod" | sort -u); do
    go mod edit -replace="$m=$m@v0.$minor.$patch"
  done
  go mod edit -require="k8s.io/kubernetes@$V"
  local cmds="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm"
  local pkgs=""; for m in $cmds; do pkgs="$pkgs k8s.io/kubernetes/cmd/$m"; done
  # tidy keeps only what some package imports: without this file it would drop k8s.io/kubernetes itself, and the build
  # would then resolve k8s.io/kubernetes@latest, whatever $V says. (A build tag keeps `go build` away from it.)
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'; for m in $pkgs; do printf '\t_ "%s"\n' "$m"; done; printf ')\n'; } > tools.go
  go mod tidy >>"$log" 2>&1 || die "kubernetes $V: go mod tidy failed: $(tail -3 "$log")"
  local selected; selected="$(go list -m -f '{{.Version}}' k8s.io/kubernetes 2>>"$log")"
  [ "$selected" = "$V" ] || die "kubernetes $V: the build would use k8s.io/kubernetes ${selected:-(none)}, not $V"
  local date ldf="" p
  # The release's own time, as the proxy records it (its .info file); the commit is not in a module zip: left empty
  # rather than invented (the default would print "$Format:%H$").
  date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(fetch_mod "k8s.io/kubernetes@$V" Info)")"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$V -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date -X $p.gitCommit="
  done
  # The official build's flags (hack/lib/golang.sh): static, trimmed, tags selinux,notest,grpcnotrace.
  CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "all=-s -w$ldf" -o "$stage/" $pkgs >>"$log" 2>&1 \
    || die "kubernetes $V: go build failed: $(tail -5 "$log")"
}

build_etcd() {
  local V="v$version" m
  local w="$work/mod"; wrapper "$w" 1.24
  cd "$w"
  # etcd's own modules replace each other with ../ (ignored in a dependency); here each is the published one of
  # the same release, pinned so that no other requirement lifts one of them.
  for m in api/v3 client/pkg/v3 client/v3 pkg/v3 server/v3 etcdctl/v3 etcdutl/v3; do
    fetch_mod "go.etcd.io/etcd/$m@$V" Version >/dev/null
    go mod edit -require="go.etcd.io/etcd/$m@$V" -replace="go.etcd.io/etcd/$m=go.etcd.io/etcd/$m@$V"
  done
  printf 'package tools\nimport (\n\t_ "go.etcd.io/etcd/server/v3"\n\t_ "go.etcd.io/etcd/etcdctl/v3"\n\t_ "go.etcd.io/etcd/etcdutl/v3"\n)\n' > tools.go
  go mod tidy >>"$log" 2>&1 || die "etcd $V: go mod tidy failed: $(tail -3 "$log")"
  local ldf="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$version"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o "$stage/etcd" go.etcd.io/etcd/server/v3 >>"$log" 2>&1 || die "etcd $V: build failed: $(tail -5 "$log")"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o "$stage/etcdctl" go.etcd.io/etcd/etcdctl/v3 >>"$log" 2>&1 || die "etcdctl $V: build failed: $(tail -5 "$log")"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o "$stage/etcdutl" go.etcd.io/etcd/etcdutl/v3 >>"$log" 2>&1 || die "etcdutl $V: build failed: $(tail -5 "$log")"
}

# go install MODULE/CMD@VERSION for modules whose go.mod has no replace lines.
install_cmds() { # ENV... -- LDFLAGS TAGS PKG...
  local ldf="$1" tags="$2"; shift 2
  GOBIN="$stage" go install -trimpath ${tags:+-tags "$tags"} -ldflags "$ldf" "$@" >>"$log" 2>&1 \
    || die "$family v$version: go install failed: $(tail -5 "$log")"
}

build_containerd() {
  local V="v$version" p="github.com/containerd/containerd/v2"
  fetch_mod "$p@$V" Version >/dev/null
  CGO_ENABLED=0 install_cmds "-s -w -X $p/version.Version=$V" "" "$p/cmd/containerd@$V" "$p/cmd/containerd-shim-runc-v2@$V" "$p/cmd/ctr@$V"
}

build_runc() {
  local V="v$version"
  fetch_mod "github.com/opencontainers/runc@$V" Version >/dev/null
  pkg-config --exists libseccomp 2>/dev/null || die "runc needs libseccomp-dev and pkg-config (apt-get install libseccomp-dev pkg-config)"
  CGO_ENABLED=1 install_cmds "-s -w -X main.version=$version" "seccomp urfave_cli_no_docs" "github.com/opencontainers/runc@$V"
}

build_cni() {
  local V="v$version" p="github.com/containernetworking/plugins/plugins" pkgs=""
  fetch_mod "github.com/containernetworking/plugins@$V" Version >/dev/null
  for m in main/bridge main/loopback main/ptp main/host-device ipam/host-local meta/portmap meta/bandwidth meta/firewall meta/tuning; do pkgs="$pkgs $p/$m@$V"; done
  CGO_ENABLED=0 install_cmds "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$V" "" $pkgs
}

build_coredns() {
  local V="v$version"
  fetch_mod "github.com/coredns/coredns@$V" Version >/dev/null
  CGO_ENABLED=0 install_cmds "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$V" "" "github.com/coredns/coredns@$V"
}

build_cfssl() {
  local V="v$version" p="github.com/cloudflare/cfssl"
  fetch_mod "$p@$V" Version >/dev/null
  CGO_ENABLED=0 install_cmds "-s -w -X $p/cli/version.version=$version" "" "$p/cmd/cfssl@$V" "$p/cmd/cfssljson@$V"
}

build_traefik() {
  local V="v$version" p="github.com/traefik/traefik/v3"
  local gomod; gomod="$(fetch_mod "$p@$V" GoMod)"
  local w="$work/mod"; wrapper "$w" "$(awk '$1=="go"{print $2; exit}' "$gomod")"
  cd "$w"
  go mod edit -require="$p@$V"
  # Traefik's own replace lines, as its go.mod has them (a wrapper does not inherit them).
  awk '/^replace \(/{r=1; next} r && /^\)/{r=0} r && NF {print} /^replace [^(]/{sub(/^replace /,""); print}' "$gomod" |
    while read -r from _arrow to tov; do
      [ -n "$tov" ] && go mod edit -replace="$from=$to@$tov" || go mod edit -replace="$from=$to"
    done
  printf 'package tools\nimport _ "%s/cmd/traefik"\n' "$p" > tools.go
  go mod tidy >>"$log" 2>&1 || die "traefik $V: go mod tidy failed: $(tail -3 "$log")"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $p/pkg/version.Version=$version" -o "$stage/traefik" "$p/cmd/traefik" >>"$log" 2>&1 \
    || die "traefik $V: build failed: $(tail -5 "$log")"
}

# Our own programs (the sandbox's pause, the workshop's web app): sources in this repo's peers/ folder.
build_local() { # NAME
  local src="$here/../peers/$1"
  [ -f "$src/main.go" ] || die "$1: no source at $src"
  cp -r "$src" "$work/src"
  cd "$work/src"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$stage/$1" . >>"$log" 2>&1 || die "$1: build failed: $(tail -5 "$log")"
}

case "$family" in
  kubernetes) build_kubernetes ;;
  etcd) build_etcd ;;
  containerd) build_containerd ;;
  runc) build_runc ;;
  cni) build_cni ;;
  coredns) build_coredns ;;
  traefik) build_traefik ;;
  cfssl) build_cfssl ;;
  pause|webapp) build_local "$family" ;;
  *) die "unknown family '$family' (kubernetes, etcd, containerd, runc, cni, coredns, traefik, cfssl, pause, webapp)" ;;
esac
echo "$family $version built in $((SECONDS - started)) s" > "$stage/.built"
echo "$source_hash" > "$stage/.source"
echo "done" > "$stage/.done"
rm -rf "$out"
mv "$stage" "$out"
echo "build-peers: $family $version built in $((SECONDS - started)) s" >&2
echo "$out"
exit 0
}
