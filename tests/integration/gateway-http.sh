# gateway-http.sh: referral-gw over real HTTP, in front of real nodes. Two
# centres (Shishi 350581, Jinjiang 350582) and a court (350521) with its
# own node; a gateway in front of the court's node and one in front of
# Jinjiang's. tests/http/test_gateway.py then drives every endpoint with
# Python's urllib, as a court, a labour bureau (a token at Jinjiang, no
# node of its own), the centre's staff and its admin would, checks each
# refusal changed nothing, and checks the answers against
# docs/openapi.json with Debian's python3-jsonschema.
. "$(dirname "$0")/../lib.sh"
. "$REFERRAL_SOURCE/tests/http/gateway-lib.sh"
if ! "$PY" -c 'import jsonschema' 2>/dev/null; then
	not_ok "python3-jsonschema is missing: apt-get install python3-jsonschema (scripts/deps.sh installs it)"
	finish
fi
authority
node 350581 "石狮市法律援助中心"
node 350582 "晋江市法律援助中心"
NODE_ROLE=court node 350521 "晋江市人民法院"
directory 1 350581 350582 350521
"$REFCTL" example application > "$T/app.json"
start 350581
start 350582
start 350521

# Tokens, each made at the node that checks it.
export TOK_COURT TOK_STAFF TOK_ADMIN TOK_LABOUR TOK_LABOUR2 TOK_REVOKED TOK_COURT_AT_CENTRE
TOK_COURT=$(token 350521 court-clerk court)
TOK_STAFF=$(token 350582 reviewer-02 staff)
TOK_ADMIN=$(token 350582 admin-01 admin)
TOK_LABOUR=$(token 350582 bureau-jj labour --code 350582)
TOK_LABOUR2=$(token 350582 bureau-other labour --code 350582)
TOK_COURT_AT_CENTRE=$(token 350582 court-at-centre court)
TOK_REVOKED=$(token 350582 revoked-soon staff)
# (The test makes the one that expires itself, just before it uses it.)
for v in TOK_COURT TOK_STAFF TOK_ADMIN TOK_LABOUR TOK_LABOUR2 TOK_COURT_AT_CENTRE TOK_REVOKED; do
	[ -n "${!v}" ] || { not_ok "token $v was not made"; finish; }
done

# A small max_body_bytes, so that a 413 costs nothing; the court's gateway
# keeps the defaults.
gateway 350521
gateway 350582 "[http]" "max_body_bytes = 65536" "[node]" "long_poll_max_s = 10"
export GW_COURT=$GW_URL_350521 GW_CENTRE=$GW_URL_350582
export T REFCTL MAX_BODY=65536 APP_JSON=$T/app.json
export OPENAPI_DOC=$REFERRAL_SOURCE/docs/openapi.json

"$PY" "$REFERRAL_SOURCE/tests/http/test_gateway.py"
rc=$?
# The Python test printed its own ok/FAIL lines; its verdict counts once.
if [ $rc -eq 0 ]; then ok "tests/http/test_gateway.py"; else not_ok "tests/http/test_gateway.py exited $rc"; fi
finish
