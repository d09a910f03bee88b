#!/usr/bin/env bash
# run.sh — build and run musicdb from a checkout. See README.md.
#
#   ./run.sh server [flags]          build, make dev certificates if needed, start the server
#   ./run.sh client [flags] [token]  build, make dev certificates if needed, start the console
#   ./run.sh certs [...]             make or extend the dev PKI in var/certs
#   ./run.sh test [go test args]     gofmt check, go vet, go test -race (what CI runs)
#
# Paths are relative to the repository root, whatever folder you call it from.
set -euo pipefail

cd "$(dirname "$0")"
readonly bin=var/bin certs=var/certs
readonly need_major=1 need_minor=26

die() {
	echo "run.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage:"
	sed -n '4,7s/^#//p' "$0"
}

# check_go makes sure a Go new enough for go.mod is on PATH. GOTOOLCHAIN=local
# keeps an older go from trying to download a newer one behind our back.
check_go() {
	command -v go >/dev/null 2>&1 ||
		die "Go $need_major.$need_minor or newer is needed; no 'go' command is on PATH (see https://go.dev/doc/install)"
	local v
	v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null || GOTOOLCHAIN=local go version | awk '{print $3}')
	local major minor
	IFS=. read -r major minor _ <<<"${v#go}"
	minor=${minor%%[!0-9]*}
	if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] ||
		((major < need_major || (major == need_major && minor < need_minor))); then
		die "Go $need_major.$need_minor or newer is needed; found $v"
	fi
}

build() {
	check_go
	mkdir -p "$bin"
	go build -o "$bin/" ./server/cmd/musicdb-server ./client/cmd/musicdb ./certs/cmd/musicdb-certs
}

# ensure_certs makes whatever of the dev PKI is missing; it never replaces
# what exists.
ensure_certs() {
	if [[ ! -f $certs/ca.crt || ! -f $certs/server.crt || ! -f $certs/dev.crt ]]; then
		"$bin/musicdb-certs" -dir "$certs" >&2 # keep stdout for the program: $(./run.sh client token)
	fi
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
server)
	build
	ensure_certs
	exec "$bin/musicdb-server" "$@"
	;;
client)
	build
	ensure_certs
	exec "$bin/musicdb" "$@"
	;;
certs)
	build
	exec "$bin/musicdb-certs" -dir "$certs" "$@"
	;;
test)
	check_go
	unformatted=$(gofmt -l .)
	[[ -z $unformatted ]] || die "these files need gofmt -w:"$'\n'"$unformatted"
	go vet ./...
	if [[ $# -eq 0 ]]; then
		set -- ./...
	fi
	exec go test -race "$@"
	;;
-h | --help | help)
	usage
	;;
*)
	usage >&2
	[[ -z $cmd ]] || echo "run.sh: unknown command \"$cmd\"" >&2
	exit 2
	;;
esac
