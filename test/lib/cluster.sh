# test/lib/cluster.sh: shared set-up for test/run, demo/run and test/bench/run.
#
# Sourced, not run.  It installs missing Debian packages, builds and installs
# the extension, and runs a throwaway PostgreSQL 15 cluster as an
# unprivileged OS user (PostgreSQL refuses root) on a private Unix socket
# directory with no TCP listener, so it never collides with another server.
#
# After start_cluster: PGHOST, PGPORT, PGUSER, PGDATABASE are exported and
# WORK is a private directory (owned by the cluster's OS user) holding a
# copy of the sources the suites read, the data directory and the logs.
# stop_cluster removes all of it; callers arrange `trap stop_cluster EXIT`.
#
# UNLEARN_PRIVATE_PG=DIR installs the extension into a private copy of
# PostgreSQL 15 under DIR (made on first use) and runs the cluster from it,
# leaving the system installation alone: for runs from several work trees
# at once, which would otherwise replace each other's unlearn.so.

PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGBIN=${UNLEARN_PRIVATE_PG:+$UNLEARN_PRIVATE_PG}/usr/lib/postgresql/$PG_MAJOR/bin
UNLEARN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UNLEARN_OS_USER=${UNLEARN_OS_USER:-unlearn}
UNLEARN_PORT=${UNLEARN_PORT:-55432}
WORK=

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# The OS user that owns the throwaway cluster: a dedicated one under root.
cluster_os_user() {
	if [ "$(id -u)" = 0 ]; then echo "$UNLEARN_OS_USER"; else id -un; fi
}

# Runs a command as the cluster's OS user with the PostgreSQL binaries first on PATH.
as_pg() {
	local env=(env "HOME=$WORK" "PATH=$PGBIN:$PATH")
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$(cluster_os_user)" -- "${env[@]}" "$@"
	else
		"${env[@]}" "$@"
	fi
}

# Installs the Debian packages (given and basic) that are not installed yet.
ensure_packages() {
	local wanted=(make gcc libc6-dev perl postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
		liblapacke-dev libopenblas-dev libopenblas0-serial libssl-dev libipc-run-perl "$@")
	local missing=() p
	for p in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Citus, which Debian does not package, built from the source archive in
# ../shared/vendor (CITUS_TARBALL names another) and installed into
# PostgreSQL 15 when citus.so is missing: for the tests with a Citus
# coordinator and workers.  Without an archive they say so and skip.
CITUS_TARBALL=${CITUS_TARBALL:-$UNLEARN_ROOT/../shared/vendor/citus-12.1.12.tar.gz}
ensure_citus() {
	local build
	[ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] && return 0
	if [ ! -f "$CITUS_TARBALL" ]; then
		echo "== Citus is not installed and $CITUS_TARBALL is missing: the Citus tests will skip"
		return 0
	fi
	ensure_packages liblz4-dev libzstd-dev libkrb5-dev
	echo "== building Citus from $(basename "$CITUS_TARBALL") (about 80 s)"
	build=$(mktemp -d /tmp/citus-build.XXXXXX)
	tar -xzf "$CITUS_TARBALL" -C "$build"
	if ! (cd "$build"/citus-* && ./configure --without-libcurl PG_CONFIG="$PG_CONFIG" >../configure.log 2>&1 &&
		make -j2 >../make.log 2>&1); then
		echo "== the Citus build failed: see $build"
		return 1
	fi
	as_root make -s -C "$(echo "$build"/citus-*)" install >/dev/null
	rm -rf "$build"
}

# Builds the extension with warnings as errors and installs it into PostgreSQL 15.
build_and_install() {
	echo "== building and installing unlearn"
	make -s -C "$UNLEARN_ROOT" PG_CONFIG="$PG_CONFIG" >/dev/null
	if [ -n "${UNLEARN_PRIVATE_PG:-}" ]; then
		copy_postgresql "$UNLEARN_PRIVATE_PG"
		make -s -C "$UNLEARN_ROOT" PG_CONFIG="$PG_CONFIG" DESTDIR="$UNLEARN_PRIVATE_PG" install >/dev/null
	else
		as_root make -s -C "$UNLEARN_ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null
	fi
}

# Copies PostgreSQL's binaries, libraries and share files under DIR, laid
# out as in /usr, so the copied server finds its own lib and share dirs.
copy_postgresql() {
	local dir=$1 sub
	[ -x "$dir/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] && return 0
	for sub in lib/postgresql/$PG_MAJOR share/postgresql/$PG_MAJOR; do
		mkdir -p "$dir/usr/$(dirname "$sub")"
		cp -a "/usr/$sub" "$dir/usr/$sub"
	done
	chmod -R a+rX "$dir"
}

# Creates the unprivileged OS user for the cluster when running as root.
ensure_os_user() {
	[ "$(id -u)" = 0 ] || return 0
	id -u "$UNLEARN_OS_USER" >/dev/null 2>&1 && return 0
	echo "== creating OS user $UNLEARN_OS_USER"
	useradd --system --no-create-home --shell /bin/bash "$UNLEARN_OS_USER"
}

# Copies what the suites read into WORK/src: the tests, the demo, and the
# documents with everything they link to (007_docs.pl checks the links).
stage_sources() {
	local item
	mkdir -p "$WORK/src"
	for item in sql expected test demo docs src extension README.md LICENSE Makefile unlearn.control; do
		if [ -e "$UNLEARN_ROOT/$item" ]; then cp -r "$UNLEARN_ROOT/$item" "$WORK/src/"; fi
	done
}

# initdb + start a throwaway cluster; extra postgresql.conf lines may be given.
start_cluster() {
	ensure_os_user
	WORK=$(mktemp -d /tmp/unlearn-cluster.XXXXXX)
	mkdir -p "$WORK/sock" "$WORK/log"
	stage_sources
	[ "$(id -u)" = 0 ] && chown -R "$(cluster_os_user)" "$WORK"
	chmod 700 "$WORK"

	echo "== starting a throwaway PostgreSQL $PG_MAJOR cluster in $WORK"
	as_pg initdb -D "$WORK/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
		>"$WORK/log/initdb.log" 2>&1 || { cat "$WORK/log/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$WORK/sock'"
		echo "port = $UNLEARN_PORT"
		echo "max_prepared_transactions = 10"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		local line
		for line in "$@"; do echo "$line"; done
	} >>"$WORK/data/postgresql.conf"
	as_pg pg_ctl -D "$WORK/data" -l "$WORK/log/postgres.log" -w -t 60 start >/dev/null ||
		{ cat "$WORK/log/postgres.log"; return 1; }

	export PGHOST="$WORK/sock" PGPORT="$UNLEARN_PORT" PGUSER=postgres PGDATABASE=postgres
}

# Stops the cluster and removes its directory (KEEP_CLUSTER=1 keeps it).
stop_cluster() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	if [ -f "$WORK/data/postmaster.pid" ]; then
		as_pg pg_ctl -D "$WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
		echo "== kept $WORK"
	else
		rm -rf "$WORK"
	fi
	WORK=
}
