#!/bin/bash
# oar_up.sh - bring up a REAL single-machine OAR 2.5.9 cluster (Debian 12 packages)
#
# execo's copy of the feasibility study's script: the test suite runs it (session fixture
# in tests/g5k/oar_fixtures.py) and scripts/oar_down.sh stops what it started, by pid.
# Differences from the study's version: no smoke job by default (OAR_SMOKE=0), unlimited
# advance reservations for the test user, and a record of whether PostgreSQL was already
# running (then oar_down.sh leaves it running).
#
# Idempotent: safe to run again; it only does what is missing.
# Needs root, Debian 12 (bookworm) and access to the Debian package mirror.
# Works with or without systemd (services are started through their
# /etc/init.d scripts / pg_ctlcluster, which bypasses policy-rc.d).
#
# Layout it builds (defaults):
#   - PostgreSQL cluster (already-present one or "main"), DB "oar"
#   - oar-server (Almighty) on port 6666, log /var/log/oar.log
#   - oar-node sshd on port 6667 in the root namespace (serves 127.0.0.1, i.e.
#     DEPLOY_HOSTNAME/COSYSTEM_HOSTNAME for deploy/cosystem jobs)
#   - nodes node-1..node-4, 2 resources (cores) per node, properties
#     cluster/host/cpu/core/cpuset, deploy=YES; cluster = hostname prefix
#     ("node-3" -> "node").  Two node modes (OAR_NODE_MODE):
#       netns (default): node-i = network namespace "oarn<i>" (10.78.0.<10+i> on
#              bridge oarbr0, server side 10.78.0.1) + own UTS namespace
#              (hostname node-i), running its own oar-node sshd (:6667) and
#              classic sshd (:22). Filesystem, users, cgroups are shared.
#       alias: node-i = /etc/hosts alias 127.0.1.i, all served by the root
#              sshd :6667 (hostname is the machine's on every "node").
#   - admission rule extended so G5K job types allow_classic_ssh, day, night,
#     exotic, destructive, origin=* (execo adds -t origin=execo) are accepted
#   - non-root test user "oartest"
#   - plain sshd on port 22 for the nodes (classic ssh, key for the test user)
#
# Environment knobs:
#   OAR_NODES="node-1 node-2 node-3 node-4"   hosts; "host:cluster" to force cluster
#   OAR_CORES_PER_NODE=2                      resources per host
#   OAR_NODE_MODE=netns                       netns | alias (netns falls back to alias if it cannot be built)
#   OAR_IP_PREFIX=127.0.1                     alias mode: node i -> $OAR_IP_PREFIX.i
#   OAR_NET_PREFIX=10.78.0                    netns mode: server .1, node i -> .(10+i)
#   OAR_SERVER_HOSTNAME                       default 10.78.0.1 (netns) / localhost (alias)
#   OAR_TEST_USER=oartest                     user created for tests
#   OAR_SCHEDULER_PERIOD=10                   Almighty forced scheduling period
#                                             (stock 60; patched in /usr/lib/oar/Almighty)
#   OAR_SCHED_MIN_GAP=1                       SCHEDULER_MIN_TIME_BETWEEN_2_CALLS (stock 5)
#   OAR_CLASSIC_SSH=1                         start sshd :22 on node aliases + key for test user
#   OAR_UNLIMITED_RESERVATIONS=1              0: keep the stock "max 2 waiting reservations" rule for the test user
#   OAR_SMOKE=0                               1: submit a 2-node job, wait Running, oardel it
#   OAR_DB_PASS=oarpass OAR_DB_RO_PASS=oarropass
set -u
T_START=$(date +%s)
LOG_PREFIX="[oar_up]"
say() { echo "$LOG_PREFIX $(date +%T) (+$(( $(date +%s) - T_START ))s) $*"; }
die() { say "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

OAR_NODES=${OAR_NODES:-"node-1 node-2 node-3 node-4"}
OAR_CORES_PER_NODE=${OAR_CORES_PER_NODE:-2}
OAR_IP_PREFIX=${OAR_IP_PREFIX:-127.0.1}
OAR_TEST_USER=${OAR_TEST_USER:-oartest}
OAR_SCHEDULER_PERIOD=${OAR_SCHEDULER_PERIOD:-10}
OAR_SCHED_MIN_GAP=${OAR_SCHED_MIN_GAP:-1}
OAR_NODE_MODE=${OAR_NODE_MODE:-netns}
OAR_NET_PREFIX=${OAR_NET_PREFIX:-10.78.0}
OAR_CLASSIC_SSH=${OAR_CLASSIC_SSH:-1}
OAR_SMOKE=${OAR_SMOKE:-0}
OAR_DB_PASS=${OAR_DB_PASS:-oarpass}
OAR_DB_RO_PASS=${OAR_DB_RO_PASS:-oarropass}
export DEBIAN_FRONTEND=noninteractive
export LANG=C.UTF-8

# ---------------------------------------------------------------- packages
PKGS="postgresql oar-server oar-user oar-node openssh-server iproute2 libyaml-perl libxml-dumper-perl libjson-perl libyaml-syck-perl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
apt_retry() {   # another process may hold the dpkg/apt locks: wait and retry
    local i out
    for i in $(seq 1 40); do
        out=$(apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1); local rc=$?
        echo "$out" >> /tmp/oar_up_apt.log
        [ $rc = 0 ] && return 0
        if echo "$out" | grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it'; then
            say "apt/dpkg lock busy, retrying in 15s ($i)"; sleep 15
        else
            return 1
        fi
    done
    return 1
}
if [ -n "$missing" ]; then
    say "installing:$missing"
    if ! apt-cache show oar-server >/dev/null 2>&1; then
        apt_retry update -qq || die "apt-get update failed"
    fi
    : > /tmp/oar_up_apt.log
    apt_retry install -y -qq --no-install-recommends $missing \
        || { apt_retry update -qq; apt_retry install -y -qq --no-install-recommends $missing; } \
        || { tail -20 /tmp/oar_up_apt.log; die "apt-get install failed (log /tmp/oar_up_apt.log)"; }
    say "packages installed"
else
    say "packages already installed"
fi

# ---------------------------------------------------------------- postgresql
PGV=$(ls /usr/lib/postgresql/ | sort -n | tail -1)
[ -n "$PGV" ] || die "no postgresql version found"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PGV main$"; then
    say "creating postgresql cluster $PGV/main"
    pg_createcluster "$PGV" main >/dev/null || die "pg_createcluster failed"
fi
if ! pg_lsclusters -h | awk -v v="$PGV" '$1==v && $2=="main" {print $4}' | grep -q online; then
    say "starting postgresql $PGV/main"
    pg_ctlcluster "$PGV" main start || die "postgresql start failed"
    mkdir -p /run/execo-oar && touch /run/execo-oar/started-postgresql
fi
for i in $(seq 1 30); do su postgres -c "psql -Atc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
say "postgresql $PGV/main online"

# ---------------------------------------------------------------- node network
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_ip() {  # node_ip INDEX
    if [ "$OAR_NODE_MODE" = netns ]; then echo "$OAR_NET_PREFIX.$((10+$1))"; else echo "$OAR_IP_PREFIX.$1"; fi
}
setup_netns() {
    ip link show oarbr0 >/dev/null 2>&1 || ip link add oarbr0 type bridge || return 1
    ip -br addr show oarbr0 | grep -q " $OAR_NET_PREFIX.1/24" || ip addr add "$OAR_NET_PREFIX.1/24" dev oarbr0 || return 1
    ip link set oarbr0 up || return 1
    local i=0 spec
    for spec in $OAR_NODES; do
        i=$((i+1))
        [ -e /run/netns/oarn$i ] || ip netns add oarn$i || return 1
        if ! ip link show oarv$i >/dev/null 2>&1; then
            ip link add oarv$i type veth peer name eth0 netns oarn$i || return 1
        fi
        ip link set oarv$i master oarbr0 up || return 1
        ip -n oarn$i -br addr show eth0 | grep -q " $(node_ip $i)/24" || ip -n oarn$i addr add "$(node_ip $i)/24" dev eth0 || return 1
        ip -n oarn$i link set eth0 up && ip -n oarn$i link set lo up || return 1
    done
}
if [ "$OAR_NODE_MODE" = netns ]; then
    if setup_netns; then
        say "netns mode: bridge oarbr0 $OAR_NET_PREFIX.1/24, namespaces oarn1..oarn$(echo $OAR_NODES | wc -w)"
    else
        say "WARNING: cannot build network namespaces, falling back to alias mode"
        OAR_NODE_MODE=alias
    fi
fi
if [ -z "${OAR_SERVER_HOSTNAME:-}" ]; then
    if [ "$OAR_NODE_MODE" = netns ]; then OAR_SERVER_HOSTNAME=$OAR_NET_PREFIX.1; else OAR_SERVER_HOSTNAME=localhost; fi
fi

# ---------------------------------------------------------------- oar.conf
CONF=/etc/oar/oar.conf
set_conf() {   # set_conf KEY VALUE  (replace active or commented line, else append)
    local k=$1 v=$2
    if grep -q "^$k=\"$v\"\$" $CONF; then return 1; fi
    if grep -q "^$k=" $CONF; then
        sed -i "s|^$k=.*|$k=\"$v\"|" $CONF
    elif grep -q "^#$k=" $CONF; then
        sed -i "0,/^#$k=.*/s||$k=\"$v\"|" $CONF
    else
        echo "$k=\"$v\"" >> $CONF
    fi
    return 0
}
conf_changed=0
set_conf DB_TYPE Pg && conf_changed=1
set_conf DB_HOSTNAME 127.0.0.1 && conf_changed=1
set_conf DB_BASE_PASSWD "$OAR_DB_PASS" && conf_changed=1
set_conf DB_BASE_PASSWD_RO "$OAR_DB_RO_PASS" && conf_changed=1
set_conf SERVER_HOSTNAME "$OAR_SERVER_HOSTNAME" && conf_changed=1
set_conf OPENSSH_CMD "/usr/bin/ssh -p 6667 -e none" && conf_changed=1
# stock minimum gap between two scheduler passes is 5 s; 1 s makes tests snappier
set_conf SCHEDULER_MIN_TIME_BETWEEN_2_CALLS "$OAR_SCHED_MIN_GAP" && conf_changed=1
[ $conf_changed = 1 ] && say "oar.conf updated" || say "oar.conf already configured"

# Almighty: force a scheduling pass every $OAR_SCHEDULER_PERIOD s (stock: 60 s,
# which makes advance reservations start up to 60 s late).
ALM=/usr/lib/oar/Almighty
alm_changed=0
if ! grep -q "^my \$schedulertimeout = $OAR_SCHEDULER_PERIOD;" $ALM; then
    sed -i "s/^my \$schedulertimeout = [0-9]*;/my \$schedulertimeout = $OAR_SCHEDULER_PERIOD;/" $ALM
    alm_changed=1
    say "Almighty scheduler period set to ${OAR_SCHEDULER_PERIOD}s"
fi

# ---------------------------------------------------------------- database
if oar-database --check >/dev/null 2>&1; then
    say "OAR database ready"
else
    say "creating OAR database"
    # remove leftovers of a half-created DB / roles with other passwords
    su postgres -c "psql -qAtc 'DROP DATABASE IF EXISTS oar'" >/dev/null 2>&1
    su postgres -c "psql -qAtc 'DROP ROLE IF EXISTS oar'" >/dev/null 2>&1
    su postgres -c "psql -qAtc 'DROP ROLE IF EXISTS oar_ro'" >/dev/null 2>&1
    oar-database --create --db-is-local -y >/tmp/oar_up_db.log 2>&1 || { cat /tmp/oar_up_db.log; die "oar-database --create failed"; }
    oar-database --check >/dev/null 2>&1 || die "OAR database still not ready"
    say "OAR database created"
fi

# ---------------------------------------------------------------- /etc/hosts
i=0
for spec in $OAR_NODES; do
    i=$((i+1)); h=${spec%%:*}; ip=$(node_ip $i)
    grep -qx "$ip $h  # oar_up" /etc/hosts && continue
    sed -i "/^[0-9.]* $h  # oar_up\$/d" /etc/hosts      # our own stale line (other mode)
    if grep -qE "^[0-9.]+[[:space:]]+(.*[[:space:]])?$h([[:space:]]|\$)" /etc/hosts; then
        say "WARNING: /etc/hosts already maps $h (not ours), leaving it"
    else
        echo "$ip $h  # oar_up" >> /etc/hosts
        say "/etc/hosts: $ip $h"
    fi
done

# ---------------------------------------------------------------- oar-node sshd (:6667)
if pid_alive /var/run/oar-node_sshd.pid; then
    say "oar-node sshd already running (pid $(cat /var/run/oar-node_sshd.pid))"
else
    /etc/init.d/oar-node start >/dev/null 2>&1 || die "oar-node start failed"
    pid_alive /var/run/oar-node_sshd.pid || die "oar-node sshd not running"
    say "oar-node sshd started (pid $(cat /var/run/oar-node_sshd.pid))"
fi

if [ "$OAR_NODE_MODE" = netns ]; then
    mkdir -p /run/sshd; i=0
    for spec in $OAR_NODES; do
        i=$((i+1)); h=${spec%%:*}; ip=$(node_ip $i)
        cmds=""
        pid_alive /run/oar-node-sshd-$h.pid || cmds="/usr/sbin/sshd -f /etc/oar/sshd_config -o PidFile=/run/oar-node-sshd-$h.pid -o ListenAddress=$ip 2>/dev/null;"
        if [ "$OAR_CLASSIC_SSH" = 1 ] && ! pid_alive /run/oar-classic-sshd-$h.pid; then
            cmds="$cmds /usr/sbin/sshd -o Port=22 -o ListenAddress=$ip -o PidFile=/run/oar-classic-sshd-$h.pid;"
        fi
        [ -z "$cmds" ] && continue
        # own UTS namespace so that 'hostname' says $h; nsenter (not 'ip netns exec')
        # so that the mount namespace, hence /sys/fs/cgroup, stays shared
        nsenter --net=/run/netns/oarn$i unshare --uts /bin/sh -c "hostname $h; $cmds" \
            || die "cannot start sshd for $h in netns oarn$i"
        sleep 0.3
        say "$h: sshd started in netns oarn$i ($ip), hostname $h"
    done
fi

# ---------------------------------------------------------------- oar-server (Almighty)
if pid_alive /var/run/oar-server.pid; then
    if [ $conf_changed = 1 ] || [ $alm_changed = 1 ]; then
        say "restarting oar-server (config changed)"
        # NB: '/etc/init.d/oar-server stop' is broken on Debian 12 (killproc -p
        # without a name matches nothing): TERM the Almighty pid ourselves, it
        # takes its children (appendice, bipbip, sarko...) down with it.
        apid=$(cat /var/run/oar-server.pid); kill -TERM "$apid" 2>/dev/null
        for i in $(seq 1 20); do kill -0 "$apid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$apid" 2>/dev/null && kill -KILL "$apid"
        for i in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/6666) 2>/dev/null || break; sleep 0.5; done
        rm -f /var/run/oar-server.pid
        /etc/init.d/oar-server start >/dev/null 2>&1 || die "oar-server start failed"
    else
        say "oar-server already running (pid $(cat /var/run/oar-server.pid))"
    fi
else
    rm -f /var/run/oar-server.pid
    /etc/init.d/oar-server start >/dev/null 2>&1 || die "oar-server start failed"
fi
for i in $(seq 1 30); do
    (exec 3<>/dev/tcp/127.0.0.1/6666) 2>/dev/null && break; sleep 1
done
sleep 1
pid_alive /var/run/oar-server.pid || die "Almighty not running (see /var/log/oar.log)"
say "oar-server running (pid $(cat /var/run/oar-server.pid)), port 6666 open"

# ---------------------------------------------------------------- resources
props=$(oarproperty -l 2>/dev/null)
echo "$props" | grep -qx cluster || oarproperty -c -a cluster >/dev/null
echo "$props" | grep -qx host    || oarproperty -c -a host >/dev/null
echo "$props" | grep -qx cpu     || oarproperty -a cpu >/dev/null
echo "$props" | grep -qx core    || oarproperty -a core >/dev/null
NCPU=$(nproc)
existing=$(oarnodes -l 2>/dev/null)
added=0
for spec in $OAR_NODES; do
    h=${spec%%:*}
    if [ "$spec" != "$h" ]; then cl=${spec#*:}; else cl=$(echo "$h" | sed -E 's/-[0-9]+(\..*)?$//'); fi
    echo "$existing" | grep -qx "$h" && continue
    cpu=$(( $(oarnodesetting --last-property-value cpu 2>/dev/null | grep -Eo '^[0-9]+$' || echo 0) + 1 ))
    for c in $(seq 0 $((OAR_CORES_PER_NODE-1))); do
        core=$(( $(oarnodesetting --last-property-value core 2>/dev/null | grep -Eo '^[0-9]+$' || echo 0) + 1 ))
        oarnodesetting -a -h "$h" -s Alive -p host="$h" -p cluster="$cl" -p cpu=$cpu -p core=$core \
            -p cpuset=$(( c % NCPU )) -p deploy=YES >/dev/null || die "oarnodesetting -a $h failed"
    done
    added=1; say "added $OAR_CORES_PER_NODE resources for $h (cluster=$cl, cpu=$cpu)"
done
[ $added = 0 ] && say "resources already declared"

# ---------------------------------------------------------------- admission rules
# accept G5K-specific job types unknown to stock OAR 2.5.9: allow_classic_ssh,
# day/night/exotic/destructive, and origin=<x> (execo 2.8.2 adds by default
# '-t origin=execo', which stock OAR rejects: "unknown job type: origin=execo")
cat > /tmp/oar_up_types.sql <<'SQL'
UPDATE admission_rules
   SET rule = replace(rule, 'qr/^state=permissive$/,',
       'qr/^state=permissive$/, qr/^allow_classic_ssh$/, qr/^(?:day|night|exotic|destructive)$/, qr/^origin=[\w.-]+$/,')
 WHERE rule LIKE '%Check if job types are valid%' AND rule NOT LIKE '%origin=%';
SQL
chmod 644 /tmp/oar_up_types.sql
su postgres -c "psql -d oar -qAt -f /tmp/oar_up_types.sql" >/dev/null || say "WARNING: admission rule patch failed"
rm -f /tmp/oar_up_types.sql

# stock admission rule 12: max 2 *waiting* advance reservations per user,
# unless the user is listed in ~oar/unlimited_reservation.users
if [ "${OAR_UNLIMITED_RESERVATIONS:-1}" = 1 ]; then
    f=/var/lib/oar/unlimited_reservation.users
    grep -qx "$OAR_TEST_USER" $f 2>/dev/null || { echo "$OAR_TEST_USER" >> $f; chown oar:oar $f; say "$OAR_TEST_USER: unlimited advance reservations"; }
fi

# ---------------------------------------------------------------- test user
if ! id "$OAR_TEST_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$OAR_TEST_USER" || die "useradd failed"
    say "user $OAR_TEST_USER created"
fi
UHOME=$(getent passwd "$OAR_TEST_USER" | cut -d: -f6)
if [ ! -f "$UHOME/.ssh/id_rsa" ]; then
    su - "$OAR_TEST_USER" -c "mkdir -p ~/.ssh && chmod 700 ~/.ssh && ssh-keygen -q -t rsa -b 2048 -N '' -f ~/.ssh/id_rsa && cat ~/.ssh/id_rsa.pub >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys && printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' > ~/.ssh/config"
fi

# ---------------------------------------------------------------- classic sshd (:22 on node aliases)
if [ "$OAR_CLASSIC_SSH" = 1 ]; then
    LA="-o ListenAddress=127.0.0.1"; i=0
    if [ "$OAR_NODE_MODE" = alias ]; then
        for spec in $OAR_NODES; do i=$((i+1)); LA="$LA -o ListenAddress=$(node_ip $i)"; done
    fi
    if pid_alive /run/oar-classic-sshd.pid && [ "$(cat /run/oar-classic-sshd.args 2>/dev/null)" != "$LA" ]; then
        kill -TERM "$(cat /run/oar-classic-sshd.pid)"; sleep 0.5; rm -f /run/oar-classic-sshd.pid
        say "classic sshd: listen addresses changed, restarting"
    fi
    if pid_alive /run/oar-classic-sshd.pid; then
        say "classic sshd already running (pid $(cat /run/oar-classic-sshd.pid))"
    else
        mkdir -p /run/sshd && chmod 755 /run/sshd
        [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
        /usr/sbin/sshd -o Port=22 $LA -o PidFile=/run/oar-classic-sshd.pid || say "WARNING: classic sshd failed to start"
        echo "$LA" > /run/oar-classic-sshd.args
        sleep 0.5; pid_alive /run/oar-classic-sshd.pid && say "classic sshd started on :22 (pid $(cat /run/oar-classic-sshd.pid))"
    fi
fi

T_READY=$(date +%s)
say "OAR is up ($((T_READY - T_START))s)"

# ---------------------------------------------------------------- smoke test
if [ "$OAR_SMOKE" = 1 ]; then
    out=$(su - "$OAR_TEST_USER" -c 'oarsub -l nodes=2,walltime=0:05:00 "sleep 300"' 2>&1)
    jid=$(echo "$out" | sed -n 's/^OAR_JOB_ID=\([0-9]*\)$/\1/p')
    [ -n "$jid" ] || die "smoke: oarsub failed: $out"
    st=""
    for i in $(seq 1 120); do
        st=$(su - "$OAR_TEST_USER" -c "oarstat -s -j $jid" 2>/dev/null | awk '{print $2}')
        case "$st" in Running|Error|Terminated) break;; esac
        sleep 1
    done
    nodes=$(su - "$OAR_TEST_USER" -c "oarstat -pj $jid | oarprint host -f -" 2>/dev/null | sort | tr '\n' ' ')
    rem=$(su - "$OAR_TEST_USER" -c "OAR_JOB_ID=$jid oarsh ${nodes%% *} 'echo oarsh-ok on \$(hostname)'" 2>&1 | tail -1)
    su - "$OAR_TEST_USER" -c "oardel $jid" >/dev/null 2>&1
    [ "$st" = Running ] || die "smoke: job $jid state '$st' (see /var/log/oar.log)"
    say "smoke test OK: job $jid Running on [ $nodes] in $(( $(date +%s) - T_READY ))s, oarsh: $rem; deleted"
fi
say "done in $(( $(date +%s) - T_START ))s (node mode: $OAR_NODE_MODE)"
