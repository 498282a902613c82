# ChainPut relay for execo (POSIX sh + netcat-traditional). Run as
#   sh -c "$(cat this)" chainput ROLE PORT NC CLIENT_TIMEOUT SERVER_TIMEOUT TRIES HOPS DELAY SIZE \
#       FILE_OR_NAME HOST1 DEST1 HOST2 DEST2 ...
# ROLE "send" (locally): send FILE to the first host of the chain that answers, behind the
#   header line "EXECO-CHAINPUT <secret>" (the secret in $EXECO_CHAINPUT_SECRET).
# ROLE "relay" (on host k = $EXECO_CHAINPUT_POSITION, else $TAKTUK_POSITION): read "<secret>
#   <sha256>" from stdin, listen on PORT, refuse a stream whose header does not carry the
#   secret, keep a copy at DESTk (a file, or NAME inside DESTk when DESTk is a directory), and
#   pass the stream, header included, on to the next host that answers (each host tried TRIES
#   times, DELAY seconds apart; at most HOPS hosts tried); then check that SIZE bytes arrived
#   and that their sha256 is the source's. Prints READY once listening and RECEIVED <bytes> at
#   the end.
# Exit codes: 2 cannot listen or no destination, 3 wrong size, 4 unauthenticated stream,
#   5 wrong sha256, 6 no sha256 tool.
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
    { printf 'EXECO-CHAINPUT %s\n' "${EXECO_CHAINPUT_SECRET:?}"; cat "$file"; } |
        forward 1 "$@" >/dev/null
    exit $?
fi

IFS=' ' read -r secret sha || { say "no secret on stdin"; exit 4; }
header="EXECO-CHAINPUT $secret"

k=${EXECO_CHAINPUT_POSITION:-${TAKTUK_POSITION:?no position in the chain}}
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

relay() {
    # The first line must be the header: only then is anything kept or passed on.
    IFS= read -r first || first=
    if [ "$first" != "$header" ]; then
        echo refused >"$tmp/refused"
        cat >/dev/null
        return 0
    fi
    # The header goes on first, then tee copies the rest to the file and on (no cat stage).
    { printf '%s\n' "$header"; tee "$dest"; } | forward $((k + 1)) "$@" >/dev/null
}
{
    # shellcheck disable=SC2086
    $nc -v -l $bind -p "$port" -w "$sto" 2>"$tmp/listen.log" </dev/null
    echo $? >"$tmp/listen.status"
} | relay "$@" &
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
if [ -f "$tmp/refused" ]; then
    say "refused a stream without this transfer's secret (not from the chain)"
    exit 4
fi
got=$(wc -c <"$dest" | tr -d ' ')
if [ "$got" != "$size" ]; then
    say "received $got of $size bytes: $(tr '\n' ' ' <"$tmp/listen.log")"
    exit 3
fi
if command -v sha256sum >/dev/null 2>&1; then
    sum=$(sha256sum <"$dest")
elif command -v shasum >/dev/null 2>&1; then
    sum=$(shasum -a 256 <"$dest")
else
    say "cannot verify the copy: neither sha256sum nor shasum here"
    exit 6
fi
sum=${sum%% *}
if [ "$sum" != "$sha" ]; then
    say "the copy's sha256 $sum is not the source's $sha"
    exit 5
fi
echo "RECEIVED $got"
