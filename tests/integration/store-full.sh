# store-full.sh: a node whose store reaches its limit refuses new
# submissions with "store full" while what it holds is still delivered.
. "$(dirname "$0")/../lib.sh"
two_nodes "[store]" "map_initial_mb = 1" "map_max_mb = 2" "submit_limit_pct = 50"
# The receiver takes all of one peer's referrals: its per-peer quota
# (quota.sh) set just under the submit limit.
printf '\n[store]\npeer_quota_pct = 49\n' >> "$T/350582/referrald.conf"
start 350581
head -c 200000 /dev/urandom > "$T/scan.bin"
"$PY" - "$T/app.json" "$T/big.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["documents"].append({"type":"scan","file":"scan.bin"}); json.dump(a,open(sys.argv[2],"w"))
PY
ids=()
full=""
for i in $(seq 1 20); do
	if out=$("$REFCTL" --data "$T/350581" submit --to 350582 "$T/big.json" 2>&1); then
		ids+=("$out")
	else
		full=$out
		break
	fi
done
echo "# accepted ${#ids[@]} referrals before the store was full"
expect_contains "refused with a clear message" "store full" "$full"
check "some were accepted first" test "${#ids[@]}" -ge 2
expect_eq "status shows it" false "$("$REFCTL" --data "$T/350581" status --json | json store.accepting_submissions)"
start 350582
for id in "${ids[@]}"; do
	check "stored referral still delivered: $id" wait_for 30 is_delivered 350581 "$id"
done
expect_eq "all arrived once" "${#ids[@]}" "$(inbox_count 350582)"

# A store that starts small grows as a large referral needs, on both sides.
stop 350582
sed -i 's/^map_max_mb = 2$/map_max_mb = 64/' "$T/350581/referrald.conf" "$T/350582/referrald.conf"
stop 350581
start 350581
start 350582
head -c 1500000 /dev/urandom > "$T/large.bin"
"$PY" - "$T/app.json" "$T/large.json" <<'PY'
import json,sys; a=json.load(open(sys.argv[1])); a["documents"].append({"type":"scan","file":"large.bin"}); json.dump(a,open(sys.argv[2],"w"))
PY
big=$(submit 350581 350582 "$T/large.json")
check "a 1.5 MB referral accepted by a node that started at 1 MB" test -n "$big"
check "and delivered to a receiver that started at 1 MB" wait_for 30 is_delivered 350581 "$big"
finish
