# ChainPut relay for execo (POSIX sh + netcat-traditional). Run as
#   sh -c "$(cat this)" chainput ROLE PORT NC CLIENT_TIMEOUT SERVER_TIMEOUT TRIES HOPS DELAY SIZE \
#       FILE_OR_NAME HOST1 DEST1 HOST2 DEST2 ...
# ROLE "send" (locally): send FILE to the first host of the chain that answers.
# ROLE "relay" (on host k = $TAKTUK_POSITION): listen on PORT, keep a copy at DESTk (a file, or
# NAME inside DESTk when DESTk is a directory), and pass the stream on to the next host that
# answers (each host tried TRIES times, DELAY seconds apart; at most HOPS hosts tried), then
# check that SIZE bytes arrived. Prints READY once listening and RECEIVED <bytes> at the end.
set -u
role=$1 port=$2 nc=$3 cto=$4 sto=$5 tries=$6 hops=$7 delay=$8 size=$9
shift 9
file=$1
shift

say() { echo "chainput: $*" >&2; }

# forward FIRST HOST1 DEST1 ...: stdin to the first host from pair number FIRST that accepts.
forward() {
    first=$1
    shift
    n=0
    hop=0
    while [ $# -ge 2 ]; do
        n=$((n + 1))
        next=$1
        shift 2
        [ "$n" -lt "$first" ] && continue
        hop=$((hop + 1))
        [ "$hop" -gt "$hops" ] && break
        t=0
        while [ "$t" -lt "$tries" ]; do
            t=$((t + 1))
            # netcat-traditional connects before it reads stdin: a refused try loses no data.
            if $nc -q 0 -w "$cto" "$next" "$port" 2>"$tmp/fwd.log"; then
                echo "FORWARDED $next"
                return 0
            fi
            sleep "$delay"
        done
        say "skipping $next: $(tr '\n' ' ' <"$tmp/fwd.log")"
    done
    cat >/dev/null # nobody left to forward to (the end of the chain)
    return 0
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/execo-chainput.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ "$role" = send ]; then
    forward 1 "$@" <"$file" >/dev/null
    exit $?
fi

k=${TAKTUK_POSITION:?not run by taktuk}
n=0
dest=
me=
for arg in "$@"; do
    n=$((n + 1))
    [ "$n" -eq $((2 * k - 1)) ] && me=$arg
    [ "$n" -eq $((2 * k)) ] && dest=$arg
done
# Listen on this host's own address when it is an IPv4 literal (several hosts may share a
# machine, as on a loopback test cluster); on any address otherwise.
case $me in
*[!0-9.]* | "") bind= ;;
*) bind="-s $me" ;;
esac
[ -n "$dest" ] || { say "no destination for position $k"; exit 2; }
[ -d "$dest" ] && dest="$dest/$file"

{
    # shellcheck disable=SC2086
    $nc -v -l $bind -p "$port" -w "$sto" 2>"$tmp/listen.log" </dev/null
    echo $? >"$tmp/listen.status"
} | tee "$dest" | forward $((k + 1)) "$@" >/dev/null &
chain=$!
while ! grep -q -i "listening" "$tmp/listen.log" 2>/dev/null; do
    if [ -f "$tmp/listen.status" ]; then
        say "cannot listen on port $port: $(tr '\n' ' ' <"$tmp/listen.log")"
        wait "$chain"
        exit 2
    fi
    sleep 0.05
done
echo READY
wait "$chain"
got=$(wc -c <"$dest" | tr -d ' ')
if [ "$got" != "$size" ]; then
    say "received $got of $size bytes: $(tr '\n' ' ' <"$tmp/listen.log")"
    exit 3
fi
echo "RECEIVED $got"
