#!/usr/bin/env bash
# container.sh: deploy/Containerfile built with podman (daemonless, from
# Debian) and the image run in a network namespace as the Containerfile's
# header says to run it.
#
#  1. The two images the Containerfile builds from come from Debian's
#     packages, not Docker Hub (which this machine cannot reach): a
#     bookworm minbase root from mmdebstrap, imported as
#     localhost/bootwright-test/debian (both GO_IMAGE and BASE_IMAGE), and
#     the host's Go toolchain and module cache mounted read-only where the
#     golang image has them. Everything else is the Containerfile's own
#     steps (its apt-get runs against Debian's mirror).
#  2. The image, run --read-only with --cap-drop ALL --cap-add
#     NET_BIND_SERVICE and a named volume for the state, in a namespace on
#     the test LAN: runs as uid 10001 with CAP_NET_BIND_SERVICE alone (the
#     binary's file capability); /healthz and a menu over HTTP (curl); a
#     PXE DISCOVER on 67 and the UEFI REQUEST on 4011 (proxy mode);
#     undionly.kpxe over TFTP (tftp-hpa); the state on the volume.
#  3. podman stop: SIGTERM, exit status 0. A new container from the image
#     on the same volume (what an upgrade does) starts with the state kept.
#  4. Containers and the volume are removed. The image and its base stay
#     in podman's store (the base as a cache; the image is rebuilt, without
#     the layer cache, each run, and the previous one removed).
#
# podman runs with runc: Debian 12's crun refuses this machine's hybrid
# cgroup hierarchy. --ulimit sets limits below the machine's hard limits:
# podman's default RLIMIT_NOFILE (1048576) is above them and the
# container would not start.
set -euo pipefail
NAME=container
. "$(dirname "$0")/lib.sh"

need_root_and podman mmdebstrap tftp
PFX="bwct-$$"
PODMAN=(podman --runtime "${OCI_RUNTIME:-runc}")
IMAGE=localhost/bootwright-test/bootwright:test
VERSION=$(cd "$TOP" && git describe --tags --always --dirty)-test$$
RUN_OPTS=(--ulimit nofile=8192:8192 --ulimit nproc=4096:4096)
CTRS=()
cleanup() {
	local c
	for c in "${CTRS[@]}"; do "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
	"${PODMAN[@]}" volume rm -f "$PFX-state" >/dev/null 2>&1 || true
	ns_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK"

# base_image: the mmdebstrap root imported into podman, once per package
# list (the tag is the cached tarball's key). Prints the image's name.
base_image() {
	local tar key img
	tar=$(debian_rootfs image ca-certificates)
	key=$(basename "$tar" .tar)
	img=localhost/bootwright-test/debian:${key#rootfs-image-}
	if ! "${PODMAN[@]}" image exists "$img"; then
		log "podman import $tar as $img" >&2
		"${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' "$tar" "$img" >/dev/null
	fi
	echo "$img"
}

# build_image: the image from this tree. --no-cache: buildah's layer cache
# does not look at what the final stage's RUN --mount=from=build binds,
# so a cached build would keep a stale binary; --layers=false keeps no
# intermediate images behind.
build_image() {
	local base old t0=$SECONDS
	base=$(base_image)
	old=$("${PODMAN[@]}" image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
	log "podman build -f deploy/Containerfile (GO_IMAGE and BASE_IMAGE $base)"
	(cd "$TOP" && "${PODMAN[@]}" build -f deploy/Containerfile --ignorefile deploy/Containerfile.dockerignore \
		--pull=never --network host --no-cache --layers=false \
		--build-arg GO_IMAGE="$base" --build-arg BASE_IMAGE="$base" \
		--build-arg VERSION="$VERSION" \
		-v "$(go env GOROOT):/usr/local/go:ro" -v "$(go env GOMODCACHE):/root/go/pkg/mod:ro" \
		-t "$IMAGE" .) >"$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log"; return 1; }
	"${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" --entrypoint /usr/local/bin/bootwright "$IMAGE" version >"$WORK/version.txt"
	grep -qx "bootwright $VERSION" "$WORK/version.txt" || { log "image says $(cat "$WORK/version.txt"), want $VERSION"; return 1; }
	# The previous run's image, untagged by this build, would stay behind.
	if [ -n "$old" ] && [ "$old" != "$("${PODMAN[@]}" image inspect -f '{{.Id}}' "$IMAGE")" ]; then
		"${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 || true
	fi
	log "built $IMAGE in $((SECONDS - t0))s, $("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec)"
}

# run_ct NAME: the image as deploy/Containerfile's header runs it, on the
# test LAN ($PFX-srv) instead of --network host. Sets PID (as the host
# sees it).
run_ct() {
	CTRS+=("$1")
	"${PODMAN[@]}" run -d --name "$1" --network "ns:/run/netns/$PFX-srv" "${RUN_OPTS[@]}" \
		--read-only --cap-drop ALL --cap-add NET_BIND_SERVICE \
		-v "$PFX-state:/var/lib/bootwright" -e BOOTWRIGHT_INTERFACE=eth0 \
		"$IMAGE" >/dev/null || return 1
	PID=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1")
	[ "$PID" -gt 0 ]
}

# process_is: the container's bootwright runs as uid 10001 with only
# CAP_NET_BIND_SERVICE (bit 10) permitted and effective, bounded to it,
# under a seccomp filter.
process_is() {
	local s=$WORK/status.txt set
	cp "/proc/$PID/status" "$s"
	grep -qP '^Uid:\t10001\t10001\t10001\t10001$' "$s" || { grep Uid "$s"; return 1; }
	for set in CapPrm CapEff CapBnd; do
		grep -qP "^$set:\t0000000000000400$" "$s" || { grep "^$set" "$s"; return 1; }
	done
	grep -qP '^Seccomp:\t2$' "$s"
}

# logs_clean NAME: the container's log has bootwright's start line and no
# ERROR (a state directory it cannot write would be one).
logs_clean() {
	"${PODMAN[@]}" logs "$1" >"$WORK/$1.log" 2>&1
	grep -q 'msg="bootwright serving" interface=eth0' "$WORK/$1.log" &&
		! grep -q 'level=ERROR' "$WORK/$1.log" || { cat "$WORK/$1.log"; return 1; }
}

tftp_nbp() {
	rm -f "$WORK/undionly.kpxe"
	(cd "$WORK" && ip netns exec "$PFX-cl" tftp -m binary "$SRV_IP" -c get undionly.kpxe undionly.kpxe) &&
		cmp -s "$WORK/undionly.kpxe" "$TOP/tftpboot/nbp/undionly.kpxe"
}

state_on_volume() {
	local dir
	dir=$("${PODMAN[@]}" volume inspect -f '{{.Mountpoint}}' "$PFX-state")
	[ "$(stat -c %u "$dir/state.db" 2>/dev/null)" = 10001 ] || { ls -ln "$dir"; return 1; }
	macs "$PFX-cl" "$WORK/macs-1.txt"
}

state_kept() { same_macs "$PFX-cl" "$WORK/macs-1.txt" "$WORK/macs-2.txt"; }

stopped_clean() {
	"${PODMAN[@]}" stop -t 20 "$1" >/dev/null
	[ "$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$1")" = 0 ]
}

main() {
	build_image || { fail "podman build -f deploy/Containerfile"; summary; return; }
	pass "podman build -f deploy/Containerfile ($("${PODMAN[@]}" --version)): bootwright version says $VERSION"
	lan "$PFX"
	"${PODMAN[@]}" volume create "$PFX-state" >/dev/null
	run_ct "$PFX-1" || { fail "podman run"; summary; return; }
	check "/healthz answers 200 from the client's namespace" healthz "$PFX-cl"
	check "runs as uid 10001 with CAP_NET_BIND_SERVICE only (file capability), seccomp" process_is
	check "iPXE menu for 52:54:00:00:00:01 over HTTP (curl)" menu "$PFX-cl"
	check "PXE DISCOVER on 67 and the UEFI REQUEST on 4011 answered (proxy mode)" pxe_discover "$PFX-cl"
	check "TFTP undionly.kpxe (tftp-hpa) is the embedded NBP" tftp_nbp
	check "log: serving on eth0, no error (--read-only, state on the volume)" logs_clean "$PFX-1"
	check "state.db on the volume, owned by uid 10001; /api/v1/machines lists the DISCOVER's client" state_on_volume
	check "podman stop: SIGTERM, exit status 0" stopped_clean "$PFX-1"
	run_ct "$PFX-2" || { fail "podman run (second container)"; summary; return; }
	check "a new container on the same volume: /healthz 200" healthz "$PFX-cl"
	check "a new container on the same volume: no error" logs_clean "$PFX-2"
	check "a new container on the same volume: the machines the first one saw ($(cat "$WORK/macs-1.txt" | tr '\n' ' '))" state_kept
	stopped_clean "$PFX-2" || true
	log "kept for the next run: $IMAGE and the base (podman rmi removes them)"
	summary
}

main "$@"
