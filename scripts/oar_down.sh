#!/bin/bash
# oar_down.sh - stop the single-machine OAR set up by oar_up.sh
#
#   oar_down.sh            delete current jobs, stop the OAR REST API (apache2),
#                          Almighty, the oar-node sshd(s) (:6667), the classic
#                          sshd(s) (:22), remove the oarn* netns + oarbr0 bridge,
#                          and stop the PostgreSQL cluster
#   oar_down.sh --purge    same, plus drop the OAR database/roles and the /etc/hosts
#                          node aliases (packages stay installed; the next
#                          oar_up.sh recreates everything)
# Env: OAR_DOWN_KEEP_PG=1 leaves PostgreSQL running; so does a PostgreSQL that oar_up.sh
# found running (it then did not mark /run/execo-oar/started-postgresql).
# Processes are stopped by the PIDs in their pidfiles (never by name).
set -u
PURGE=0; [ "${1:-}" = "--purge" ] && PURGE=1
say() { echo "[oar_down] $(date +%T) $*"; }
[ "$(id -u)" = 0 ] || { echo "must run as root"; exit 1; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' /proc/$1/stat 2>/dev/null; }  # zombies count as dead
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }
stop_pidfile() {   # stop_pidfile NAME PIDFILE
    local name=$1 pf=$2 pid i
    if pid_alive "$pf"; then
        pid=$(cat "$pf"); kill -TERM "$pid"
        for i in $(seq 1 20); do alive "$pid" || break; sleep 0.5; done
        alive "$pid" && kill -KILL "$pid"
        say "$name stopped (pid $pid)"
    else
        say "$name not running"
    fi
    rm -f "$pf"
}

# 1. delete current jobs so that their processes are cleaned up by OAR itself
if pid_alive /var/run/oar-server.pid; then
    jobs=$(oarstat 2>/dev/null | awk '/^[0-9]+ /{print $1}' | tr '\n' ' ')
    if [ -n "$jobs" ]; then
        say "deleting jobs: $jobs"
        oardel $jobs >/dev/null 2>&1
        for i in $(seq 1 30); do
            [ -z "$(oarstat 2>/dev/null | awk '/^[0-9]+ /')" ] && break; sleep 1
        done
    fi
fi

# 1b. OAR REST API (apache2 from oar_api_up.sh): TERM on the parent pid
stop_pidfile "apache2 (OAR REST API)" /var/run/apache2/apache2.pid

# 2. OAR server: TERM on the Almighty pid takes its children down
#    ('/etc/init.d/oar-server stop' does not work on Debian 12)
stop_pidfile "oar-server (Almighty)" /var/run/oar-server.pid
# 3. node sshd (:6667) and classic sshd (:22)
stop_pidfile "oar-node sshd" /var/run/oar-node_sshd.pid
stop_pidfile "classic sshd" /run/oar-classic-sshd.pid
# netns mode: per-node sshds, then the namespaces, veths and bridge (no state in them)
for pf in /run/oar-node-sshd-*.pid /run/oar-classic-sshd-*.pid; do
    [ -e "$pf" ] && stop_pidfile "$(basename "$pf" .pid)" "$pf"
done
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^oarn[0-9]+$'); do
    ip netns del "$ns" && say "netns $ns removed"
done
ip link show oarbr0 >/dev/null 2>&1 && ip link del oarbr0 && say "bridge oarbr0 removed"

# 4. database
PGV=$(ls /usr/lib/postgresql/ 2>/dev/null | sort -n | tail -1)
if [ $PURGE = 1 ] && [ -n "$PGV" ]; then
    pg_ctlcluster "$PGV" main start >/dev/null 2>&1
    su postgres -c "psql -qAtc 'DROP DATABASE IF EXISTS oar'" && \
    su postgres -c "psql -qAtc 'DROP ROLE IF EXISTS oar'" && \
    su postgres -c "psql -qAtc 'DROP ROLE IF EXISTS oar_ro'" && say "OAR database and roles dropped"
    # cgroups created by OAR's job_resource_manager_cgroups.pl (empty once jobs are gone)
    for d in /sys/fs/cgroup/*/oar; do
        [ -d "$d" ] || continue
        find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null; rmdir "$d" 2>/dev/null
    done
    [ -L /dev/cpuset ] && rm -f /dev/cpuset
    [ -d /dev/oar_cgroups_links ] && rm -rf /dev/oar_cgroups_links
    sed -i '/  # oar_up$/d' /etc/hosts && say "/etc/hosts node aliases (lines tagged '# oar_up') removed"
fi
if [ -n "$PGV" ] && [ "${OAR_DOWN_KEEP_PG:-0}" != 1 ] && [ -e /run/execo-oar/started-postgresql ]; then
    rm -f /run/execo-oar/started-postgresql
    if pg_lsclusters -h | awk -v v="$PGV" '$1==v && $2=="main" {print $4}' | grep -q online; then
        pg_ctlcluster "$PGV" main stop && say "postgresql $PGV/main stopped"
    fi
fi
say "done"
