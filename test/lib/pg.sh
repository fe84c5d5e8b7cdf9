# pg.sh: a throwaway PostgreSQL cluster for test and bench scripts (source
# it). The server listens on a Unix socket in its own directory, not on a
# TCP port, so processes in any network namespace of this host reach it
# by path; it runs as the postgres user (nobody without one) since it
# refuses root, and is stopped by its PID.

PG_BIN=""
PG_DIR=""
PG_PID=""
PG_URL=""
PG_OPTS=""

# pg_find: sets PG_BIN to the directory of initdb and pg_ctl.
pg_find() {
	local d
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		PG_BIN=$(dirname "$(readlink -f "$(command -v initdb)")")
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
		[ -x "$d/pg_ctl" ] && { PG_BIN=$d; return 0; }
	done
	return 1
}

# pg_as CMD...: CMD as the cluster's user when we are root.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		local u=postgres
		id -u postgres >/dev/null 2>&1 || u=nobody
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

# pg_start DIR [SETTING=VALUE...]: initdb in DIR, start the server with
# the settings given (-c), create database bootwright. Sets PG_DIR,
# PG_PID, PG_URL.
pg_start() {
	local dir=$1 s
	shift
	pg_find || { echo "pg: no initdb/pg_ctl (install postgresql)" >&2; return 1; }
	PG_DIR=$dir
	mkdir -p "$dir"
	chmod 755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown "$(id -u postgres 2>/dev/null || id -u nobody)" "$dir"
	pg_as "$PG_BIN/initdb" -D "$dir/data" -U bootwright --auth=trust -N -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	PG_OPTS="-k $dir -c listen_addresses='' -c max_connections=200"
	for s in "$@"; do PG_OPTS+=" -c $s"; done
	pg_restart || return 1
	pg_as "$PG_BIN/createdb" -h "$dir" -U bootwright bootwright || { pg_stop; return 1; }
	PG_URL="postgres:///bootwright?host=$dir&user=bootwright"
}

# pg_restart: start the server of PG_DIR again (after pg_stop).
pg_restart() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -o "$PG_OPTS" start >/dev/null ||
		{ tail -n 20 "$PG_DIR/server.log" >&2; return 1; }
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
}

# pg_stop: stop the server by its PID (fast shutdown), keeping its data.
pg_stop() {
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PG_PID" 2>/dev/null || true
	PG_PID=""
}

# pg_sql SQL: run SQL in database bootwright; rows as text, | between columns.
pg_sql() { psql -h "$PG_DIR" -U bootwright -d bootwright -XAtq -c "$1"; }
