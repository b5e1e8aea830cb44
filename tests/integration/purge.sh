# purge.sh: retention's end. Referrals whose applications each carry an
# invented applicant's name and address as a canary are taken to final
# states: a dry run changes nothing; `refctl purge --before` purges the
# expired one, keeps the one under a legal hold and the one with an open
# objection; the audit chain and an export still verify and show the
# purge; once the data key has rotated, the canary is neither in the raw
# data.mdb nor in any sealed value of it (live or in a free page) opened
# with any key the node still holds (tests/sealscan), while a kept
# referral's canary still is (the scan works). `refctl compact` drops the
# free pages. Then the node's own purge, on the test clock moved past
# [retention] days_after_refused.
. "$(dirname "$0")/../lib.sh"
SCAN=$BUILD/tests/sealscan
authority
node 350581 "石狮市法律援助中心" "[roles]" "admins = admin-01"
node 350582 "晋江市法律援助中心" "[roles]" "admins = admin-01"
# The justice bureau that decides Jinjiang's objections (Art 49).
bureau 350599 "晋江市司法局" 350582 bureau-0301
directory 1 350581 350582 350599
"$REFCTL" example application > "$T/app.json"
# Three invented applicants, one per referral: A is purged, B held, C objected.
for x in A B C; do
	"$PY" - "$T/app.json" "$T/app$x.json" "$x" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
x = sys.argv[3]
a["applicant"]["name"] = "Canary%sPurgeApplicant" % x
a["applicant"]["addresses"] = ["Canary%s Test Road 9" % x]
json.dump(a, open(sys.argv[2], "w"), ensure_ascii=False)
PY
done
start 350581
start 350582
start 350599
S="$REFCTL --data $T/350581 --actor staff-0107"
J="$REFCTL --data $T/350582 --actor reviewer-02"
JA="$REFCTL --data $T/350582 --actor admin-01"
denied() { # X: a referral of applicant X, denied at Jinjiang
	local id; id=$(submit 350581 350582 "$T/app$1.json")
	wait_for 15 in_state 350582 "$id" RECEIVED || { echo "$1 not received" >&2; return 1; }
	$J deny "$id" --basis "法律援助法第四十一条" --reason "income above the threshold" >/dev/null
	wait_for 15 in_state 350581 "$id" DENIED || { echo "$1 not denied at Shishi" >&2; return 1; }
	echo "$id"
}
a=$(denied A); b=$(denied B); c=$(denied C)
check "three referrals denied, seen at both nodes" test -n "$a" -a -n "$b" -a -n "$c"
check "C's objection is filed at the bureau" "$REFCTL" --data "$T/350599" --actor bureau-0301 object "$c" --centre 350582 --reason "applicant disputes the income"
check "Jinjiang sees OBJECTION" wait_for 15 in_state 350582 "$c" OBJECTION
check "Shishi sees OBJECTION" wait_for 15 in_state 350581 "$c" OBJECTION
out=$($J legal-hold set "$b" --reason "court case (2026)闽0582民初1 pending" 2>&1); rc=$?
check "legal-hold as staff: non-zero exit" test "$rc" -ne 0
expect_contains "needs the admin role" "admin role" "$out"
check "the admin sets a legal hold on B" $JA legal-hold set "$b" --reason "court case (2026)闽0582民初1 pending"
expect_contains "legal-hold list shows it" "$b" "$($JA legal-hold list)"
out=$($JA legal-hold set "$b" 2>&1); rc=$?
check "a legal hold without --reason: non-zero exit" test "$rc" -ne 0
out=$($JA legal-hold clear "$a" 2>&1); rc=$?
check "clearing a hold that is not there: non-zero exit" test "$rc" -ne 0
expect_contains "and says so" "under no legal hold" "$out"

scan() { "$SCAN" "$T/$1/store/data.mdb" "$T/$1/data.keys" "${@:2}"; }
out=$(scan 350582 CanaryAPurgeApplicant); rc=$?
check "before the purge, the scan opens A's canary with the node's key ($out)" test "$rc" -eq 1
expect_contains "and only sealed: not in clear" "clear=0" "$out"
check "the referrals' records are sealed under keys of their own ($out)" \
	bash -c "echo '$out' | grep -q 'refsealed=[1-9]'"

# ---- refusals and the dry run
sleep 1.2
before=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out=$($J purge --before "$before" 2>&1); rc=$?
check "purge as staff: non-zero exit" test "$rc" -ne 0
expect_contains "needs the admin role" "admin role" "$out"
out=$($JA purge --before 2999-01-01 2>&1); rc=$?
check "purge --before a future date: non-zero exit" test "$rc" -ne 0
expect_contains "and says why" "in the future" "$out"
out=$($JA purge --before yesterday 2>&1); rc=$?
check "purge --before not a date: non-zero exit" test "$rc" -ne 0
expect_contains "and says what a date is" "2020-12-31 or RFC 3339" "$out"
keys=$(sha256sum "$T/350582/data.keys")
check "Jinjiang and Shishi have greeted each other" wait_for 30 greeted 350582
audits=$(audit_count 350582)
out=$($JA purge --before "$before" --dry-run --json); rc=$?
expect_eq "purge --dry-run: exit 0" 0 "$rc"
ids() { "$PY" -c 'import json,sys; print(" ".join(sorted(e["referral_id"] + ("=" + e["kept"] if "kept" in e else "") for e in json.load(sys.stdin)[sys.argv[1]])))' "$1"; }
expect_eq "the dry run would purge A only" "$a" "$(echo "$out" | ids would_purge)"
expect_eq "and keeps B (legal hold) and C (open objection)" \
	"$(printf '%s\n' "$b=under a legal hold" "$c=an objection is open" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(echo "$out" | ids kept)"
expect_eq "the dry run added nothing to the audit chain" "$audits" "$(audit_count 350582)"
expect_eq "nor changed the key file" "$keys" "$(sha256sum "$T/350582/data.keys")"
expect_contains "A's application still reads" CanaryAPurgeApplicant "$($JA show "$a" --json)"

# ---- the purge
quota_of() { "$REFCTL" --data "$T/350582" status --json | "$PY" -c 'import json,sys; print(sum(p["stored_bytes"] for p in json.load(sys.stdin).get("peer_quota",[]) if p["peer"]=="350581"))'; }
q_before=$(quota_of)
out=$($JA purge --before "$before" --json); rc=$?
expect_eq "purge: exit 0" 0 "$rc"
q_after=$(quota_of)
check "the purge gives Shishi's store quota back its bytes ($q_before -> $q_after)" test "$q_after" -lt "$q_before"
expect_eq "A is purged" "$a" "$(echo "$out" | ids purged)"
shown=$($JA show "$a" --json)
expect_eq "A's skeleton stays: its state" DENIED "$(echo "$shown" | json state)"
expect_eq "and its history's states" "REQUESTED RECEIVED DENIED" "$(states_of 350582 "$a")"
check "its application is gone" bash -c "! echo '$shown' | grep -q CanaryAPurgeApplicant"
check "and the history's reasons" bash -c "! echo '$shown' | grep -q 'income above the threshold'"
expect_contains "B's application still reads" CanaryBPurgeApplicant "$($JA show "$b" --json)"
out=$($JA purge --before "$before" --json)
expect_eq "a second purge finds nothing more" "" "$(echo "$out" | ids purged)"
out=$($JA legal-hold set "$a" --reason "too late" 2>&1); rc=$?
check "a hold on a purged referral: non-zero exit" test "$rc" -ne 0
expect_contains "and says why" "purged already" "$out"
resealed() { [ "$("$REFCTL" --data "$T/$1" status --json | json data_key.resealing)" = false ] &&
	[ "$("$REFCTL" --data "$T/$1" status --json | json data_key.keys)" = 1 ]; }
check "every record sealed again under a fresh key, the old one dropped" wait_for 30 resealed 350582
expect_eq "the key file holds one key, id 2" "2 aes-256-gcm" "$(grep -v '^#' "$T/350582/data.keys" | cut -d' ' -f1-2)"

# ---- the audit chain and an export
check "refctl audit verify passes on the purged node" "$REFCTL" --data "$T/350582" audit verify
"$REFCTL" --data "$T/350582" audit export --out "$T/j.jsonl" >/dev/null
check "audit verify-export passes" "$REFCTL" --data "$T/350582" audit verify-export "$T/j.jsonl"
check "the export shows the purge of A" grep -q "\"event\":\"personal_data_purged\".*$a\|$a.*\"event\":\"personal_data_purged\"" "$T/j.jsonl"
check "and the legal hold" grep -q legal_hold_set "$T/j.jsonl"
check "and the refused purge" grep -q purge_refused "$T/j.jsonl"
check "refctl store check passes" "$REFCTL" --data "$T/350582" store check
expect_contains "the trail shows the purge" personal_data_purged "$($JA trail "$a")"
out=$("$REFCTL" --data "$T/350582" audit trail "$a" 2>&1); rc=$?
expect_eq "refctl audit trail of a purged referral: exit 0" 0 "$rc"
expect_contains "its application's place says purged" "purged" "$(echo "$out" | grep referral_submit)"

# ---- unrecoverable
out=$(scan 350582 CanaryAPurgeApplicant "CanaryA Test Road"); rc=$?
check "A's canary: not in data.mdb in clear, nor in any sealed value opened with any key in data.keys ($out)" test "$rc" -eq 0
out=$(scan 350582 CanaryBPurgeApplicant); rc=$?
check "while B's (held) still opens: the scan reads what is there ($out)" test "$rc" -eq 1

# ---- the hold cleared: B goes; C stays while its objection is open
check "the admin clears B's hold" $JA legal-hold clear "$b"
out=$($JA purge --before "$before" --json)
expect_eq "B is purged now" "$b" "$(echo "$out" | ids purged)"
expect_eq "C stays: its objection is open" "$c=an objection is open" "$(echo "$out" | ids kept)"
check "re-sealed again" wait_for 30 resealed 350582
out=$(scan 350582 CanaryAPurgeApplicant CanaryBPurgeApplicant); rc=$?
check "neither A's nor B's canary can be read ($out)" test "$rc" -eq 0
check "the chain still verifies" "$REFCTL" --data "$T/350582" audit verify

# ---- compaction: the free pages themselves go
out=$("$REFCTL" --data "$T/350582" compact 2>&1); rc=$?
check "compact while the node runs: non-zero exit" test "$rc" -ne 0
expect_contains "and says to stop it" "stop it before compacting" "$out"
sealed() { scan "$1" NoSuchCanaryInThisStore | awk -F'[= ]' '{ print $2 + $4 }'; }
n_before=$(sealed 350582)
stop 350582
out=$("$REFCTL" --data "$T/350582" compact); rc=$?
expect_eq "compact with the node stopped: exit 0" 0 "$rc"
n_after=$(sealed 350582)
check "the file holds fewer sealed values: those of free pages are gone ($n_before -> $n_after)" test "$n_after" -lt "$n_before"
check "the compacted store passes store check" "$REFCTL" --data "$T/350582" store check
start 350582
expect_eq "the node starts on it and A's skeleton reads" DENIED "$(state_of 350582 "$a")"
expect_contains "and C's application" CanaryCPurgeApplicant "$($JA show "$c" --json)"

# ---- the node's own purge, one day past days_after_refused
stop 350581
# One referral a turn: the cycle goes on over turns, one rotation at its end.
printf '\n[retention]\ndays_after_refused = 1\npurge_batch = 1\n' >> "$T/350581/referrald.conf"
out=$(scan 350581 CanaryAPurgeApplicant); rc=$?
check "at Shishi, A's canary opens before its retention ends ($out)" test "$rc" -eq 1
# The node is killed as the cycle's rotation writes the new key (strace:
# the node renames nothing before: the first rename is the new key file
# taking its place), after both batches have committed:
# the start that follows finds A and B purged already, and still owes
# their rotation (the store's mark, written with each batch).
if command -v strace >/dev/null; then
	. "$(dirname "$0")/../fault/common.sh"
	REFERRAL_CLOCK_OFFSET_MS=$((2 * 86400000)) under_strace 350581 \
		-e trace=rename \
		-e inject=rename:error=EIO:signal=KILL:when=1
	pid=$PID_350581
	gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
	check "Shishi is killed as its purge cycle rotates the data key" wait_for 90 gone "$pid"
	wait "$pid" 2>/dev/null
	"$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null
	expect_eq "both batches committed before the kill (A and B purged)" 2 \
		"$(grep -c personal_data_purged "$T/s.jsonl")"
	expect_eq "and no rotation recorded" 0 "$(grep -c data_key_rotated "$T/s.jsonl")"
	expect_eq "the key file still holds the old key only" 1 "$(grep -vc '^#' "$T/350581/data.keys")"
	check "the new key file's temporary copy is left beside it" ls "$T/350581/data.keys.tmp."*
else
	echo "# strace is not installed: the kill before the cycle's rotation is not tried"
fi
REFERRAL_CLOCK_OFFSET_MS=$((2 * 86400000)) start 350581
purged_at_shishi() { "$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null &&
	[ "$(grep -c personal_data_purged "$T/s.jsonl")" = 2 ]; }
check "Shishi purges A and B by itself, each once" wait_for 60 purged_at_shishi
rotated() { "$REFCTL" --data "$T/350581" audit export --out "$T/s.jsonl" >/dev/null &&
	grep -q 'data_key_rotated.*after a purge of 2 referrals' "$T/s.jsonl"; }
check "one batch a turn, one key rotation at the cycle's end" wait_for 60 rotated
shishi_key() { [ "$(grep -v '^#' "$T/350581/data.keys" | cut -d' ' -f1)" = 2 ]; }
check "re-sealed under the fresh key, the old one dropped" wait_for 30 shishi_key
check "and no re-seal left" wait_for 30 resealed 350581
expect_eq "C, under objection, keeps its application" CanaryCPurgeApplicant \
	"$("$REFCTL" --data "$T/350581" --actor admin-01 show "$c" --json | json application.applicant.name)"
out=$(scan 350581 CanaryAPurgeApplicant CanaryBPurgeApplicant); rc=$?
check "Shishi's store gives up neither canary ($out)" test "$rc" -eq 0
expect_eq "no temporary copy of the key file (with the old key) is left" "" \
	"$(cd "$T/350581" && ls -d data.keys.tmp.* 2>/dev/null)"
check "Shishi's chain verifies" "$REFCTL" --data "$T/350581" audit verify
finish
