#!/usr/bin/env bash
# A private PostgreSQL for Temporal: its own data directory and port, listening on 127.0.0.1 only,
# no system service. Password authentication (scram-sha-256) for the superuser "temporal", the
# user compose's Temporal uses; the password is POSTGRES_PASSWORD at the first start, or a random
# one, kept in DIR/password (mode 600).
#
#   deploy/postgres.sh start DIR PORT   initialise DIR on first use, start on 127.0.0.1:PORT
#   deploy/postgres.sh schema DIR       create or upgrade the temporal and temporal_visibility
#                                       databases with the server's temporal-sql-tool (go.mod's tool)
#   deploy/postgres.sh url DIR          print the --db URL of devstack temporal (holds the password)
#   deploy/postgres.sh status DIR       exit 0 while it runs
#   deploy/postgres.sh stop DIR         fast shutdown; nothing to do when it is not running
#
# PostgreSQL comes from Debian's packages when the machine lacks it (without the main cluster the
# package would create and run as a service). initdb and postgres refuse to run as root: as root,
# they run as the package's "postgres" user, who owns DIR/data and must be able to reach DIR.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
user=temporal

die() { echo "postgres.sh: $*" >&2; exit 1; }

# bindir prints the directory of initdb, pg_ctl and postgres.
bindir() {
  local d
  if command -v pg_config >/dev/null && d="$(pg_config --bindir 2>/dev/null)" && [ -x "$d/initdb" ]; then
    echo "$d"; return
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

# install_postgres installs Debian's postgresql package, as .ci/run installs its tools.
install_postgres() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  command -v apt-get >/dev/null || die "PostgreSQL is missing and there is no apt-get to install it"
  # A fresh install would otherwise create and start the system's main cluster on port 5432.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# as_owner runs a command as the data directory's owner: postgres when we are root, else us.
as_owner() {
  if [ "$(id -u)" != 0 ]; then "$@"; return; fi
  if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; return; fi
  su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
}

pg() { as_owner "$BIN/$1" "${@:2}"; }

need_dir() { [ -n "${1:-}" ] || die "usage: $0 $cmd DIR"; dir="$(cd "$1" 2>/dev/null && pwd)" || die "no directory $1"; data="$dir/data"; }

init_cluster() {
  local pw="$dir/password" pwfile
  if [ ! -s "$pw" ]; then
    (umask 077; printf '%s' "${POSTGRES_PASSWORD:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}" >"$pw")
  fi
  pwfile="$dir/initdb.pw"
  (umask 077; cp "$pw" "$pwfile")
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the user postgres (Debian's package creates it)"
    chmod a+x "$dir"
    runuser -u postgres -- test -x "$dir" || die "the user postgres cannot reach $dir: make its parents searchable (chmod a+x)"
    install -d -o postgres -g postgres -m 700 "$data"
    chown postgres "$pwfile"
  else
    install -d -m 700 "$data"
  fi
  pg initdb -D "$data" -U "$user" --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --no-locale >/dev/null
  rm -f "$pwfile"
  # Loopback only and no Unix socket: nothing but TCP on 127.0.0.1 reaches this instance.
  printf "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" | as_owner tee -a "$data/postgresql.conf" >/dev/null
}

start() {
  need_dir "${1:-}"
  local port="${2:-}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 start DIR PORT"
  BIN="$(bindir)" || { install_postgres; BIN="$(bindir)" || die "no initdb after installing postgresql"; }
  [ -f "$data/PG_VERSION" ] || init_cluster
  if pg pg_ctl status -D "$data" >/dev/null 2>&1; then echo "PostgreSQL already runs in $data"; return; fi
  echo "$port" >"$dir/port"
  [ -e "$dir/postgres.log" ] || { touch "$dir/postgres.log"; [ "$(id -u)" != 0 ] || chown postgres "$dir/postgres.log"; }
  pg pg_ctl start -D "$data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 >/dev/null ||
    { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start (log: $dir/postgres.log)"; }
  echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data $data"
}

stop() {
  need_dir "${1:-}"
  BIN="$(bindir)" || die "PostgreSQL is not installed"
  if ! pg pg_ctl status -D "$data" >/dev/null 2>&1; then echo "PostgreSQL is not running in $data"; return; fi
  pg pg_ctl stop -D "$data" -m fast -w -t 60 >/dev/null
  echo "PostgreSQL stopped"
}

status() {
  need_dir "${1:-}"
  BIN="$(bindir)" || die "PostgreSQL is not installed"
  pg pg_ctl status -D "$data"
}

# schema runs compose's own schema script (deploy/temporal/setup-postgres.sh) with the
# temporal-sql-tool go.mod pins, so both set the databases up the same way.
schema() {
  need_dir "${1:-}"
  [ -s "$dir/port" ] || die "start PostgreSQL in $dir first"
  local tool="$dir/bin/temporal-sql-tool"
  (cd "$repo" && go build -o "$tool" go.temporal.io/server/cmd/tools/sql)
  TEMPORAL_SQL_TOOL="$tool" POSTGRES_SEEDS=127.0.0.1 DB_PORT="$(cat "$dir/port")" POSTGRES_USER="$user" \
    SQL_PASSWORD="$(cat "$dir/password")" sh "$repo/deploy/temporal/setup-postgres.sh" >"$dir/schema.log" 2>&1 ||
    { tail -n 20 "$dir/schema.log" >&2; die "the schema setup failed (log: $dir/schema.log)"; }
  tail -n 1 "$dir/schema.log"
}

url() {
  need_dir "${1:-}"
  [ -s "$dir/port" ] || die "start PostgreSQL in $dir first"
  echo "postgres://$user:$(percent_encode "$(cat "$dir/password")")@127.0.0.1:$(cat "$dir/port")/temporal"
}

# percent_encode escapes what a URL's userinfo cannot hold as it is (ASCII passwords).
percent_encode() {
  local s="$1" c i out=""
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in [a-zA-Z0-9._~-]) out+="$c" ;; *) out+="$(printf '%%%02X' "'$c")" ;; esac
  done
  printf '%s' "$out"
}

cmd="${1:-}"
case "$cmd" in
  start | stop | status | schema | url) shift; "$cmd" "$@" ;;
  *) die "usage: $0 start DIR PORT | schema DIR | url DIR | status DIR | stop DIR" ;;
esac
