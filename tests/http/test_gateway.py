#!/usr/bin/python3
"""test_gateway.py: referral-gw over real HTTP (run by
tests/integration/gateway-http.sh, which starts the nodes, the gateways and
makes the tokens; see there for the topology).

Every endpoint as its callers use it: a court through its own node's
gateway, a labour bureau and the centre's staff and admin through
Jinjiang's. Each refusal (scope, token, body) is checked to have changed
nothing, at the node itself (refctl). At the end every JSON answer seen is
checked against its operation's response schema in docs/openapi.json
(python3-jsonschema), as is every request body the gateway took or
refused, and the document itself against OpenAPI 3.1's structure.

Only the standard library and Debian's python3-jsonschema; prints
"ok - ..." / "FAIL - ..." lines like tests/lib.sh and exits 1 on a
failure."""
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import jsonschema  # noqa: F401 (here: to fail with what to install)
    import openapi_check
except ImportError:
    print("FAIL - python3-jsonschema is missing: apt-get install "
          "python3-jsonschema (scripts/deps.sh installs it)")
    sys.exit(1)

ENV = os.environ
T = ENV["T"]
REFCTL = ENV["REFCTL"]
GW_COURT = ENV["GW_COURT"]
GW_CENTRE = ENV["GW_CENTRE"]
MAX_BODY = int(ENV["MAX_BODY"])
TOK = {k[4:].lower(): v for k, v in ENV.items() if k.startswith("TOK_")}
APP = json.load(open(ENV["APP_JSON"]))
DOC = json.load(open(ENV["OPENAPI_DOC"]))

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, counts, expect_eq, not_ok, ok  # noqa: E402,F401  (tests/http/tap.py)


# ---- HTTP -------------------------------------------------------------------

class Resp:
    def __init__(self, method, url, status, headers, body, sent):
        self.method, self.url, self.status = method, url, status
        self.headers = headers          # http.client.HTTPMessage
        self.body = body
        self.sent = sent                # the request body (bytes) or None
        self.type = (headers.get("Content-Type") or "").split(";")[0].strip()
        self.json = None
        if self.type.endswith("json") and body:
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def __repr__(self):
        return "%s %s -> %d %s" % (self.method, self.url, self.status,
                                   self.body[:300].decode("utf-8", "replace"))


SEEN = []        # every Resp, for the OpenAPI checks at the end


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method, base, path, token=None, body=None, headers=None,
         timeout=30):
    """One request; body: a dict/list (sent as JSON), str/bytes (as is)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(base + path, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            resp = Resp(method, path, r.status, r.headers, r.read(), body)
    except urllib.error.HTTPError as e:
        resp = Resp(method, path, e.code, e.headers, e.read(), body)
    SEEN.append(resp)
    return resp


def court(method, path, token=None, body=None, **kw):
    return call(method, GW_COURT, path, token, body, **kw)


def centre(method, path, token=None, body=None, **kw):
    return call(method, GW_CENTRE, path, token, body, **kw)


def expect_status(what, want, r):
    return check(what, r.status == want, "expected %d, got %r" % (want, r))


def expect_problem(what, status, r, code=None):
    """A refusal: the status, application/problem+json, its code."""
    good = (r.status == status and r.type == "application/problem+json"
            and isinstance(r.json, dict)
            and isinstance(r.json.get("code"), str)
            and r.json["code"].startswith("REF_E_")
            and r.json.get("status") == status
            and (code is None or r.json["code"] == code))
    return check(what, good, "expected %d problem+json%s, got %r" % (
        status, " " + code if code else "", r))


def wait_until(seconds, fn):
    end = time.time() + seconds
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.2)


# ---- the node itself, read with refctl ---------------------------------------

def refctl(code, *args):
    p = subprocess.run([REFCTL, "--data", os.path.join(T, code)] + list(args),
                       capture_output=True, text=True, timeout=30)
    if p.returncode:
        raise RuntimeError("refctl %s %s: %s" % (code, " ".join(args),
                                                 p.stderr.strip()))
    return p.stdout


def node_state(code):
    """Everything a refusal must leave as it was: each referral's state
    and number of steps, in the inbox and the outbox."""
    out = {}
    for box in ("--inbox", "--outbox"):
        for it in json.loads(refctl(code, "list", box, "--json"))["referrals"]:
            rid = it["referral_id"]
            hist = json.loads(refctl(code, "show", rid, "--json"))["history"]
            out[rid] = (it["state"], len(hist))
    return out


def trail_events(code, rid):
    return json.loads(refctl(code, "trail", rid, "--json"))["events"]


def state_at(code, rid):
    try:
        return json.loads(refctl(code, "show", rid, "--json"))["state"]
    except RuntimeError:
        return None


def unchanged(what, code, before):
    after = node_state(code)
    check(what + ": nothing changed at " + code, after == before,
          "before %r, after %r" % (before, after))


# ---- the tests ----------------------------------------------------------------

def test_openapi_served():
    for name, base in (("court's", GW_COURT), ("centre's", GW_CENTRE)):
        r = call("GET", base, "/openapi.json")
        expect_status("GET /openapi.json without a token at the %s gateway"
                      % name, 200, r)
    expect_eq("the served document is docs/openapi.json", DOC, r.json)
    if r.json != DOC and isinstance(r.json, dict):
        a, b = set(DOC.get("paths", {})), set(r.json.get("paths", {}))
        print("# paths only in docs: %s; only served: %s" % (
            sorted(a - b), sorted(b - a)))


def test_court_notifies(st):
    """A court's notify_defence crosses to Jinjiang; the centre assigns
    through its gateway; the notice reaches the court's feed, the long
    poll waking for it."""
    ev = {"type": "notify_defence", "to": "350582",
          "case_ref": "(2026)闽0582刑初101号", "application": APP}
    r = court("POST", "/v1/events", TOK["court"], ev,
              headers={"Idempotency-Key": "court-notify-1"})
    expect_status("POST /v1/events notify_defence at the court's gateway: 201",
                  201, r)
    rid = (r.json or {}).get("referral_id", "")
    check("a matter id of the court's", rid.startswith("350521-"), repr(r))
    r2 = court("POST", "/v1/events", TOK["court"], ev,
               headers={"Idempotency-Key": "court-notify-1"})
    expect_eq("the same event again with its Idempotency-Key: the same answer",
              (201, r.json), (r2.status, r2.json))
    ids = [i["referral_id"] for i in json.loads(
        refctl("350521", "list", "--outbox", "--json"))["referrals"]]
    expect_eq("and one matter at the court's node", [rid], ids)
    st["rid"] = rid
    # What the court's node holds from here on (a retry applied twice
    # fails above, once, and is not counted against the checks below).
    st["court_ids"] = ids

    got = wait_until(20, lambda: (centre("GET", "/v1/referrals/" + rid,
                                         TOK["staff"]).json or {})
                     .get("state") == "GRANTED")
    check("it reaches Jinjiang's centre at GRANTED (staff GET, 20 s)", got)

    # The feed so far, then a long poll that the assignment must wake. The
    # grant is GRANTED at the centre before its notice crosses back to the
    # court's node, so the feed is read until the notice is there: a cursor
    # taken before it would wake the long poll below with the grant.
    feed = {}

    def granted():
        feed["r"] = court("GET", "/v1/events", TOK["court"])
        return "aid_granted" in [e.get("type") for e in
                                 (feed["r"].json or {}).get("events", [])]
    got = wait_until(20, granted)
    r = feed["r"]
    expect_status("GET /v1/events at the court's gateway", 200, r)
    types = [e.get("type") for e in (r.json or {}).get("events", [])]
    check("the court's feed has the grant (20 s)", got, repr(r))
    print("# the court's feed before the assignment: %s" % types)
    cursor = (r.json or {}).get("next_cursor")
    check("with a next_cursor", isinstance(cursor, str), repr(r))
    poll = {}

    def long_poll():
        t0 = time.time()
        poll["r"] = court("GET", "/v1/events?cursor=%s&wait=10" %
                          urllib.parse.quote(cursor or ""), TOK["court"])
        poll["s"] = time.time() - t0

    th = threading.Thread(target=long_poll)
    th.start()
    time.sleep(1.5)
    check("the long poll is still waiting before the assignment",
          th.is_alive())
    before = centre("GET", "/v1/referrals/" + rid, TOK["staff"])
    etag = before.headers.get("ETag")
    body = {"firm": "示例律师事务所", "lawyer": "王示例",
            "licence_no": "13505200000000", "contact": "0595-00000000"}
    r = centre("POST", "/v1/referrals/%s/assign" % rid, TOK["staff"], body)
    expect_status("POST /v1/referrals/{id}/assign with a staff token", 200, r)
    expect_eq("the move answers ASSIGNED", "ASSIGNED", (r.json or {}).get("state"))
    th.join(20)
    pr = poll.get("r")
    evs = (pr.json or {}).get("events", []) if pr else []
    check("the long poll (wait=10) returned with the assignment notice",
          pr is not None and pr.status == 200 and
          any(e.get("type") == "assignment_notice" for e in evs),
          repr(pr))
    check("woken by it, after %.1f s, not at the wait's end" % poll.get("s", 0),
          1.2 < poll.get("s", 99) < 9.5)
    check("the notice names the lawyer", "王示例" in json.dumps(
        evs, ensure_ascii=False), repr(pr))
    check("the court's node holds the referral ASSIGNED",
          wait_until(20, lambda: state_at("350521", rid) == "ASSIGNED"))

    # ETag and If-None-Match.
    r = centre("GET", "/v1/referrals/" + rid, TOK["staff"])
    tag = r.headers.get("ETag")
    check("GET /v1/referrals/{id} has an ETag", bool(tag), repr(r))
    check("the ETag changed with the move", tag != etag, "%s %s" % (tag, etag))
    r304 = centre("GET", "/v1/referrals/" + rid, TOK["staff"],
                  headers={"If-None-Match": tag})
    expect_eq("If-None-Match with it: 304 and no body", (304, b""),
              (r304.status, r304.body))
    r304 = centre("GET", "/v1/referrals/" + rid, TOK["staff"],
                  headers={"If-None-Match": '"x", W/' + tag})
    expect_status("a weak tag in a list: 304", 304, r304)
    r200 = centre("GET", "/v1/referrals/" + rid, TOK["staff"],
                  headers={"If-None-Match": etag or '"x"'})
    expect_status("an old tag: 200 with the referral", 200, r200)
    expect_eq("the same body as before", r.json, r200.json)

    # The wait that ends with nothing; a bad wait.
    last = (pr.json or {}).get("next_cursor") if pr else None
    t0 = time.time()
    r = court("GET", "/v1/events?cursor=%s&wait=1" % last, TOK["court"])
    took = time.time() - t0
    check("a long poll with nothing new ends after its wait (%.1f s) with "
          "no events" % took, r.status == 200 and
          (r.json or {}).get("events") == [] and 0.9 < took < 5, repr(r))
    expect_problem("wait=-1: 400", 400, court(
        "GET", "/v1/events?wait=-1", TOK["court"]), "REF_E_INVALID")
    expect_problem("wait=soon: 400", 400, court(
        "GET", "/v1/events?wait=soon", TOK["court"]), "REF_E_INVALID")

    # Reassign: the lawyer replaced, the state stays, the court is told.
    body = {"firm": "示例律师事务所", "lawyer": "李示例",
            "licence_no": "13505200000001", "contact": "0595-00000001",
            "reason": "王示例 recused"}
    r = centre("POST", "/v1/referrals/%s/reassign" % rid, TOK["staff"], body,
               headers={"Idempotency-Key": "reassign-1"})
    expect_status("POST /v1/referrals/{id}/reassign", 200, r)
    r2 = centre("POST", "/v1/referrals/%s/reassign" % rid, TOK["staff"], body,
                headers={"Idempotency-Key": "reassign-1"})
    expect_eq("reassign retried with its key: the same answer",
              (r.status, r.json), (r2.status, r2.json))
    expect_eq("the referral stays ASSIGNED", "ASSIGNED",
              (centre("GET", "/v1/referrals/" + rid, TOK["staff"]).json or {})
              .get("state"))
    hist = json.loads(refctl("350582", "show", rid, "--json"))["history"]
    expect_eq("one step for the retried reassign", 1,
              sum(1 for h in hist if "李示例" in json.dumps(h, ensure_ascii=False)))

    def replaced():
        r = court("GET", "/v1/events?cursor=%s" % last, TOK["court"])
        return "lawyer_replaced" in r.body.decode() and "0595-00000001" in \
            r.body.decode()
    check("the replaced lawyer reaches the court's feed",
          wait_until(20, replaced))


def test_scope_refusals(st):
    rid = st["rid"]
    before_c, before_j = node_state("350521"), node_state("350582")
    r = court("POST", "/v1/referrals/%s/accept" % rid, TOK["court"], {})
    expect_problem("a court token moving a referral at its gateway: 403", 403,
                   r, "REF_E_FORBIDDEN")
    r = centre("POST", "/v1/referrals/%s/start" % rid, TOK["court_at_centre"],
               {})
    expect_problem("a court token at the centre moving it: 403", 403, r,
                   "REF_E_FORBIDDEN")
    expect_eq("the refusal is on the centre's record, with the token's name", 1,
              sum(1 for e in trail_events("350582", rid)
                  if e["event"] == "call_refused"
                  and e.get("actor") == "court-at-centre"))
    r = centre("POST", "/v1/referrals", TOK["court_at_centre"],
               {"to": "350581", "application": APP})
    expect_problem("a court token submitting: 403", 403, r, "REF_E_FORBIDDEN")
    r = court("GET", "/v1/referrals", TOK["court"])
    expect_problem("a court token listing: 403", 403, r, "REF_E_FORBIDDEN")
    r = centre("POST", "/v1/events", TOK["staff"],
               {"type": "hearing_changed", "referral_id": rid})
    expect_problem("a staff token sending a court's event: 403", 403, r,
                   "REF_E_FORBIDDEN")
    r = centre("GET", "/metrics", TOK["staff"])
    expect_problem("a staff token on /metrics: 403", 403, r, "REF_E_FORBIDDEN")
    r = court("GET", "/metrics", TOK["court"])
    expect_problem("a court token on /metrics: 403", 403, r, "REF_E_FORBIDDEN")
    r = centre("GET", "/console/", TOK["staff"])
    expect_status("a staff token on /console/: 403", 403, r)
    unchanged("scope refusals", "350521", before_c)
    unchanged("scope refusals", "350582", before_j)


def test_token_refusals(st):
    rid = st["rid"]
    before = node_state("350582")
    sub = {"to": "350581", "application": APP}
    r = centre("POST", "/v1/referrals", None, sub)
    expect_problem("no token: 401", 401, r, "REF_E_UNAUTHENTICATED")
    check("with WWW-Authenticate: Bearer",
          (r.headers.get("WWW-Authenticate") or "").startswith("Bearer"), repr(r))
    r = centre("POST", "/v1/referrals/%s/start" % rid, None, {})
    expect_problem("a move without a token: 401", 401, r)
    r = centre("GET", "/v1/referrals", None,
               headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    expect_problem("Basic credentials: 401", 401, r, "REF_E_UNAUTHENTICATED")
    r = centre("POST", "/v1/referrals", "rgw_not-a-token", sub)
    expect_problem("an unknown token: 401", 401, r, "REF_E_UNAUTHENTICATED")
    r = centre("POST", "/v1/referrals/%s/start" % rid, "rgw_not-a-token", {})
    expect_problem("an unknown token moving: 401", 401, r)
    r = centre("GET", "/metrics", None)
    expect_problem("/metrics without a token: 401", 401, r)

    # Revoked: in use (and in the gateway's who-is-it cache) first.
    expect_status("the soon revoked token works", 200,
                  centre("GET", "/v1/referrals", TOK["revoked"]))
    refctl("350582", "token", "revoke", "revoked-soon")
    r = centre("GET", "/v1/referrals", TOK["revoked"])
    expect_problem("a revoked token: 401 at once", 401, r,
                   "REF_E_UNAUTHENTICATED")
    r = centre("POST", "/v1/referrals", TOK["revoked"], sub)
    expect_problem("a revoked token submitting: 401", 401, r,
                   "REF_E_UNAUTHENTICATED")
    r = centre("POST", "/v1/referrals/%s/start" % rid, TOK["revoked"], {})
    expect_problem("a revoked token moving: 401", 401, r,
                   "REF_E_UNAUTHENTICATED")
    unchanged("token refusals", "350582", before)


def test_expiring_made():
    """A staff token that expires in 3 s: used now, refused at the end."""
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    TOK["expiring"] = json.loads(refctl(
        "350582", "token", "create", "--name", "expiring-soon", "--scope",
        "staff", "--expires", until, "--json"))["token"]
    r = centre("GET", "/v1/referrals", TOK["expiring"])
    expect_status("a token that expires in 3 s works now", 200, r)


def test_expired():
    if centre("GET", "/v1/referrals", TOK["expiring"]).status == 200:
        print("# the expiring token is still in force; waiting for it")
    wait_until(10, lambda: centre("GET", "/v1/referrals",
                                  TOK["expiring"]).status != 200)
    before = node_state("350582")
    r = centre("GET", "/v1/referrals", TOK["expiring"])
    expect_problem("an expired token: 401", 401, r, "REF_E_UNAUTHENTICATED")
    r = centre("POST", "/v1/referrals", TOK["expiring"],
               {"to": "350581", "application": APP})
    expect_problem("an expired token submitting: 401", 401, r,
                   "REF_E_UNAUTHENTICATED")
    unchanged("an expired token", "350582", before)


def test_labour(st):
    before = node_state("350582")
    wrong = {"type": "notify_defence", "to": "350582", "application": APP}
    r = centre("POST", "/v1/events", TOK["labour"], wrong)
    expect_problem("a labour token sending notify_defence: 400", 400, r,
                   "REF_E_INVALID")
    r = court("POST", "/v1/events", TOK["court"],
              {"type": "arbitration_accepted", "referral_id": st["rid"]})
    expect_problem("a court sending a labour event: 400", 400, r,
                   "REF_E_INVALID")
    r = court("POST", "/v1/events", TOK["court"],
              {"type": "forward_application_x", "to": "350582",
               "application": APP})
    expect_problem("an event type no one sends: 400", 400, r)
    unchanged("wrong event types", "350582", before)
    expect_eq("the court's node holds its matters still", st["court_ids"],
              [i["referral_id"] for i in json.loads(
                  refctl("350521", "list", "--outbox", "--json"))["referrals"]])

    ev = {"type": "forward_application", "case_ref": "晋劳仲案字〔2026〕88号",
          "application": APP}
    r = centre("POST", "/v1/events", TOK["labour"], ev,
               headers={"Idempotency-Key": "bureau-88"})
    expect_status("a labour bureau forwards a worker's application: 201", 201, r)
    lid = (r.json or {}).get("referral_id", "")
    check("it opens a referral", bool(lid), repr(r))
    st["lid"] = lid
    n = len(json.loads(refctl("350582", "list", "--inbox", "--json"))
            ["referrals"])
    r2 = centre("POST", "/v1/events", TOK["labour"], ev,
                headers={"Idempotency-Key": "bureau-88"})
    expect_eq("forwarded again with its Idempotency-Key: the same answer",
              (201, r.json), (r2.status, r2.json))
    inbox = [i["referral_id"] for i in json.loads(
        refctl("350582", "list", "--inbox", "--json"))["referrals"]]
    expect_eq("and no second referral at the centre", n, len(inbox))
    st["inbox"] = inbox
    expect_eq("at RECEIVED", "RECEIVED", state_at("350582", lid))
    r = centre("GET", "/v1/referrals/" + lid, TOK["labour"])
    expect_status("the bureau reads its matter", 200, r)
    expect_eq("at RECEIVED, as the bureau sees it", "RECEIVED",
              (r.json or {}).get("state"))
    check("the bureau's view holds no personal data",
          b"application" not in r.body and b"applicant" not in r.body, repr(r))
    r = centre("GET", "/v1/referrals/" + lid, TOK["labour2"])
    expect_problem("another bureau's token cannot read it: 404", 404, r,
                   "REF_E_NOT_FOUND")
    r = centre("GET", "/v1/referrals/" + st["rid"], TOK["labour"])
    expect_problem("nor the court's matter: 404", 404, r, "REF_E_NOT_FOUND")
    before = node_state("350582")
    r = centre("POST", "/v1/referrals/%s/accept" % lid, TOK["labour"], {})
    expect_problem("a labour token never moves a referral: 403", 403, r,
                   "REF_E_FORBIDDEN")
    unchanged("a labour token's move", "350582", before)
    r = centre("GET", "/v1/referrals?box=inbox&state=RECEIVED", TOK["staff"])
    want = sorted(i["referral_id"] for i in json.loads(
        refctl("350582", "list", "--inbox", "--json"))["referrals"]
        if i["state"] == "RECEIVED")
    got = sorted(i["referral_id"] for i in (r.json or {}).get("referrals", []))
    check("staff list it at RECEIVED (box=inbox&state=RECEIVED), and only "
          "what the node holds at RECEIVED", lid in got and got == want,
          "got %r, the node %r" % (got, want))
    r = centre("POST", "/v1/referrals/%s/accept" % lid, TOK["staff"],
               {"reason": "eligible"})
    expect_status("staff accept it", 200, r)
    expect_eq("GRANTED", "GRANTED", state_at("350582", lid))
    r = centre("GET", "/v1/events", TOK["labour"])
    body = r.body.decode()
    check("the grant reaches the bureau's feed",
          r.status == 200 and "aid_granted" in body and lid in body, repr(r))
    check("the court's matter is not on the bureau's feed",
          st["rid"] not in body, repr(r))
    r = centre("GET", "/v1/events", TOK["labour2"])
    check("nor on another bureau's", r.status == 200 and lid not in
          r.body.decode(), repr(r))


def test_submit_and_list(st):
    before = json.loads(refctl("350582", "list", "--outbox", "--json"))
    sub = {"to": "350581", "application": APP}
    r = centre("POST", "/v1/referrals", TOK["staff"], sub,
               headers={"Idempotency-Key": "intake-0001"})
    expect_status("POST /v1/referrals: 201", 201, r)
    sid = (r.json or {}).get("referral_id", "")
    expect_eq("Location names it", "/v1/referrals/" + sid,
              r.headers.get("Location"))
    r2 = centre("POST", "/v1/referrals", TOK["staff"], sub,
                headers={"Idempotency-Key": "intake-0001"})
    expect_eq("the same Idempotency-Key again: the same answer",
              (201, r.json), (r2.status, r2.json))
    after = json.loads(refctl("350582", "list", "--outbox", "--json"))
    expect_eq("one referral made", len(before["referrals"]) + 1,
              len(after["referrals"]))
    r3 = centre("POST", "/v1/referrals", TOK["admin"], sub,
                headers={"Idempotency-Key": "intake-0001"})
    check("the same key from another token is another request",
          r3.status == 201 and (r3.json or {}).get("referral_id") != sid,
          repr(r3))
    st["sid"], st["sid2"] = sid, (r3.json or {}).get("referral_id")
    check("it is delivered to Shishi (GET shows delivery)", wait_until(
        20, lambda: (centre("GET", "/v1/referrals/" + sid, TOK["staff"]).json
                     or {}).get("delivery") == "delivered"))
    check("Shishi holds it", wait_until(
        20, lambda: state_at("350581", sid) is not None))

    def ids(r):
        return [i["referral_id"] for i in (r.json or {}).get("referrals", [])]
    r = centre("GET", "/v1/referrals", TOK["staff"])
    expect_status("GET /v1/referrals", 200, r)
    r = centre("GET", "/v1/referrals?box=outbox", TOK["staff"])
    check("box=outbox lists both submitted",
          {sid, st["sid2"]} <= set(ids(r)), repr(r))
    inbox = sorted(st["inbox"])
    r = centre("GET", "/v1/referrals?box=inbox", TOK["staff"])
    expect_eq("box=inbox lists what the node's inbox holds", inbox,
              sorted(ids(r)))
    check("the court's and the bureau's among them",
          {st["rid"], st["lid"]} <= set(ids(r)), repr(r))
    r = centre("GET", "/v1/referrals?box=inbox&state=ASSIGNED", TOK["staff"])
    expect_eq("state=ASSIGNED: the court's only", [st["rid"]], ids(r))
    r = centre("GET", "/v1/referrals?box=inbox&overdue=true", TOK["staff"])
    check("overdue=true: none of these is overdue",
          r.status == 200 and ids(r) == [], repr(r))
    r = centre("GET", "/v1/referrals?box=inbox&overdue", TOK["staff"])
    check("overdue (no value) is overdue=true",
          r.status == 200 and ids(r) == [], repr(r))
    r = centre("GET", "/v1/referrals?box=inbox&overdue=false", TOK["staff"])
    expect_eq("overdue=false: all", inbox, sorted(ids(r)))
    r = centre("GET", "/v1/referrals?box=inbox&limit=1", TOK["staff"])
    nxt = (r.json or {}).get("next_cursor")
    check("limit=1: one and a next_cursor",
          len(ids(r)) == 1 and isinstance(nxt, str), repr(r))
    pages, seen = [ids(r)], list(ids(r))
    while isinstance(nxt, str) and len(pages) <= len(inbox):
        r = centre("GET", "/v1/referrals?box=inbox&limit=1&cursor=" +
                   urllib.parse.quote(nxt), TOK["staff"])
        pages.append(ids(r))
        seen += ids(r)
        nxt = (r.json or {}).get("next_cursor")
    check("the cursor walks the box a page of one at a time, each once, "
          "to a null next_cursor", nxt is None and sorted(seen) == inbox and
          all(len(p) == 1 for p in pages), "pages %r" % pages)
    r = centre("GET", "/v1/referrals?box=dead", TOK["staff"])
    expect_status("box=dead", 200, r)
    expect_problem("box=attic: 400", 400,
                   centre("GET", "/v1/referrals?box=attic", TOK["staff"]))
    expect_problem("an unknown query argument: 400", 400,
                   centre("GET", "/v1/referrals?colour=red", TOK["staff"]),
                   "REF_E_INVALID")
    expect_problem("limit=many: 400", 400,
                   centre("GET", "/v1/referrals?limit=many", TOK["staff"]),
                   "REF_E_INVALID")


def test_bad_bodies(st):
    rid = st["rid"]
    before = node_state("350582")
    cases = [
        ("malformed JSON to POST /v1/referrals", "POST", "/v1/referrals",
         '{"to": "350581", "application": {', 400, "REF_E_MALFORMED"),
        ("a JSON array to POST /v1/referrals", "POST", "/v1/referrals",
         '[]', 400, "REF_E_MALFORMED"),
        ("duplicate keys", "POST", "/v1/referrals",
         '{"to": "350581", "to": "350582", "application": {}}', 400,
         "REF_E_MALFORMED"),
        ("malformed JSON to a move", "POST", "/v1/referrals/%s/start" % rid,
         '{"reason": ', 400, "REF_E_MALFORMED"),
        ("malformed JSON to POST /v1/events", "POST", "/v1/events",
         'not json', 400, "REF_E_MALFORMED"),
        ("an unknown field in a submit", "POST", "/v1/referrals",
         {"to": "350581", "application": APP, "priority": "high"}, 400, None),
        ("an unknown field in a move", "POST", "/v1/referrals/%s/reassign" % rid,
         {"firm": "示例律师事务所", "lawyer": "张示例",
          "licence_no": "13505200000002", "reason": "x", "colour": "red"},
         400, None),
        ("a move missing a required field", "POST",
         "/v1/referrals/%s/reassign" % rid,
         {"firm": "示例律师事务所", "lawyer": "张示例"}, 400, None),
        ("a submit to a node not in the directory", "POST", "/v1/referrals",
         {"to": "359999", "application": APP}, 400, None),
        ("a move the node has not", "POST", "/v1/referrals/%s/fly" % rid,
         {}, 404, "REF_E_NOT_FOUND"),
    ]
    for what, method, path, body, status, code in cases:
        tok = TOK["labour"] if path == "/v1/events" else TOK["staff"]
        r = centre(method, path, tok, body)
        expect_problem(what + ": %d" % status, status, r, code)
    r = centre("POST", "/v1/referrals", TOK["staff"],
               {"to": "350581", "application": APP},
               headers={"Idempotency-Key": "two words"})
    expect_problem("an Idempotency-Key with a space: 400", 400, r,
                   "REF_E_INVALID")

    big = {"to": "350581", "application": dict(APP, note="x" * (MAX_BODY + 10))}
    r = centre("POST", "/v1/referrals", TOK["staff"], big)
    expect_problem("a body over max_body_bytes (Content-Length): 413", 413, r,
                   "REF_E_TOO_LARGE")
    r = expect_continue(GW_CENTRE, "/v1/referrals", TOK["staff"], 8 << 20)
    expect_problem("Expect: 100-continue with a body of 8 MiB: 413 before "
                   "a byte of it is sent", 413, r, "REF_E_TOO_LARGE")
    r = chunked(GW_CENTRE, "/v1/referrals", TOK["staff"],
                json.dumps(big).encode())
    expect_problem("a body over max_body_bytes, chunked: 413", 413, r,
                   "REF_E_TOO_LARGE")
    r = centre("POST", "/v1/referrals/%s/start" % rid, TOK["staff"],
               {"reason": "y" * (MAX_BODY + 1)})
    expect_problem("a move's body over max_body_bytes: 413", 413, r,
                   "REF_E_TOO_LARGE")
    unchanged("bad bodies", "350582", before)
    r = centre("DELETE", "/v1/referrals", TOK["staff"])
    expect_problem("DELETE /v1/referrals: 405", 405, r)
    check("with Allow", "POST" in (r.headers.get("Allow") or ""), repr(r))
    expect_problem("an unknown path: 404", 404,
                   centre("GET", "/v1/nothing", TOK["staff"]), "REF_E_NOT_FOUND")
    expect_problem("an id that is not one: 4xx", 404,
                   centre("GET", "/v1/referrals/350582-00", TOK["staff"]))


def test_urgency_and_cancel(st):
    """The Art 44 urgency finding by the centre's staff, and a centre's
    cancel without the applicant's written withdrawal, as operations."""
    lid = st["lid"]
    before = node_state("350582")
    feed = centre("GET", "/v1/events", TOK["labour"]).body.decode()
    expect_problem("mark-urgent with an unknown ground: 400", 400,
                   centre("POST", "/v1/referrals/%s/mark-urgent" % lid,
                          TOK["staff"], {"ground": "soon", "reason": "x"}),
                   "REF_E_INVALID")
    r = centre("POST", "/v1/referrals/%s/cancel" % lid, TOK["staff"],
               {"reason": "we will not take it"})
    check("a centre's own cancel is refused",
          r.status >= 400 and "own motion" in str((r.json or {}).get("detail")),
          repr(r))
    unchanged("the refusals", "350582", before)
    r = centre("POST", "/v1/referrals/%s/mark-urgent" % lid, TOK["staff"],
               {"ground": "limitation", "reason": "limitation ends in 5 days"},
               headers={"Idempotency-Key": "urgent-1"})
    expect_status("POST /v1/referrals/{id}/mark-urgent", 200, r)
    got = json.loads(refctl("350582", "show", lid, "--json"))
    expect_eq("the referral is urgent, its state kept", ("urgent", "GRANTED"),
              (got["priority"], got["state"]))
    expect_eq("the finding is a step with its ground", "limitation",
              got["history"][-1].get("urgency_ground"))
    after = centre("GET", "/v1/events", TOK["labour"]).body.decode()
    expect_eq("the bureau is sent no second grant notice",
              feed.count("aid_granted"), after.count("aid_granted"))


def chunked(base, path, token, data):
    """A POST with Transfer-Encoding: chunked (no Content-Length)."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("POST", path)
    c.putheader("Authorization", "Bearer " + token)
    c.putheader("Content-Type", "application/json")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    try:
        for i in range(0, len(data), 8192):
            part = data[i:i + 8192]
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
    except OSError:
        pass        # the gateway may answer and close before the end
    r = c.getresponse()
    resp = Resp("POST", path, r.status, r.headers, r.read(), data)
    c.close()
    SEEN.append(resp)
    return resp


def expect_continue(base, path, token, length):
    """A POST that announces a body and waits for the go-ahead: the
    gateway must refuse it by its Content-Length alone."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("POST", path)
    c.putheader("Authorization", "Bearer " + token)
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(length))
    c.putheader("Expect", "100-continue")
    c.endheaders()
    r = c.getresponse()
    resp = Resp("POST", path, r.status, r.headers, r.read(), None)
    c.close()
    SEEN.append(resp)
    return resp


def test_metrics_console():
    inbox = len(json.loads(refctl("350582", "list", "--inbox", "--json"))
                ["referrals"])
    r = centre("GET", "/metrics", TOK["admin"])
    expect_status("GET /metrics with an admin token", 200, r)
    text = r.body.decode()
    check("Prometheus text with the queues and the inbox's depth (%d)" % inbox,
          r.type == "text/plain" and
          re.search(r'^referral_outbox_messages\{state="pending"\} \d+$', text,
                    re.M) is not None and
          re.search(r"^referral_inbox_referrals %d$" % inbox, text, re.M)
          is not None, text[:400])
    check("and the gateway's requests by status",
          re.search(r'^referral_gw_requests_total\{code="403"\} [1-9]', text,
                    re.M) is not None, text[-600:])
    r = centre("GET", "/console/", None)
    expect_eq("GET /console/ without a token: 303 to the login",
              (303, "/console/login"), (r.status, r.headers.get("Location")))
    r = centre("GET", "/console/", TOK["admin"])
    check("GET /console/ with an admin token: the overview (HTML)",
          r.status == 200 and r.type == "text/html" and
          b"Queues and store" in r.body, repr(r))
    r = centre("GET", "/console/referral?id=" + "350582-" + "0" * 32,
               TOK["admin"])
    check("a referral page of an unknown id: 404",
          r.status == 404 and r.type == "text/html", repr(r))


def test_events_as_admin(st):
    r = centre("GET", "/v1/events?limit=1000", TOK["admin"])
    expect_status("GET /v1/events with an admin token (every feed)", 200, r)
    check("which holds the bureau's grant",
          st["lid"] in r.body.decode(), repr(r))
    r = centre("GET", "/v1/events?limit=1", TOK["admin"])
    check("limit=1: one event and a cursor",
          r.status == 200 and len((r.json or {}).get("events", [])) <= 1,
          repr(r))


def test_calendar_due():
    # DOMAIN.md's first worked example, through the gateway: the node's
    # calendar-due with the shipped holiday calendar.
    r = centre("GET", "/v1/calendar/due?from=2026-09-25&days=7", TOK["staff"])
    expect_status("GET /v1/calendar/due with a staff token", 200, r)
    expect_eq("a 7-day review from Fri 2026-09-25 is due 2026-10-08",
              ("2026-10-08", "2026-10-08T16:00:00.000Z"),
              ((r.json or {}).get("due_day"), (r.json or {}).get("due")))
    r = centre("GET", "/v1/calendar/due?from=2026-02-30&days=7", TOK["staff"])
    expect_problem("a day that does not exist: 400", 400, r)
    check("naming it", "2026-02-30" in r.body.decode(), repr(r))


# ---- the OpenAPI document -------------------------------------------------------

def test_openapi_against_seen():
    problems = [r for r in SEEN if r.status >= 400 and
                not r.url.startswith("/console")]
    not_problem = [r for r in problems if not (
        r.type == "application/problem+json" and isinstance(r.json, dict) and
        str(r.json.get("code", "")).startswith("REF_E_") and
        r.json.get("status") == r.status and r.json.get("detail"))]
    check("all %d refusals seen are problem+json with a code, the status and "
          "a detail" % len(problems), problems and not not_problem,
          "; ".join(map(repr, not_problem[:5])))
    errs = openapi_check.structure_errors(DOC)
    check("docs/openapi.json has OpenAPI 3.1's structure and valid schemas",
          not errs, "; ".join(errs))
    s = openapi_check.check_seen(DOC, SEEN)
    used, missing, undeclared = s["used"], s["missing"], s["undeclared"]
    bad, notes, checked, bodies = s["bad"], s["notes"], s["checked"], s["bodies"]
    check("every path and method the tests used is in docs/openapi.json",
          not missing, ", ".join(sorted(missing)))
    check("every status seen is declared for its operation",
          not undeclared, ", ".join(sorted(undeclared)))
    check("%d JSON answers fit their response schemas, %d request bodies "
          "their requestBody" % (checked, bodies), not bad and checked > 50,
          "; ".join(bad[:10]) or "only %d checked" % checked)
    want = {"POST /v1/referrals", "GET /v1/referrals",
            "GET /v1/referrals/{id}", "POST /v1/referrals/{id}/assign",
            "POST /v1/referrals/{id}/reassign",
            "POST /v1/referrals/{id}/accept", "POST /v1/events",
            "GET /v1/events", "GET /openapi.json", "GET /metrics",
            "GET /v1/calendar/due",
            "GET /console/"}
    for n in sorted(notes):
        print("# note (the console): " + n)
    check("every endpoint was called", want <= used,
          "not called: %s" % sorted(want - used))


def main():
    st = {}
    t0 = time.time()
    steps = [test_openapi_served, test_expiring_made, test_court_notifies, test_scope_refusals,
             test_token_refusals, test_labour, test_submit_and_list,
             test_bad_bodies, test_urgency_and_cancel, test_metrics_console, test_events_as_admin,
             test_calendar_due, test_expired, test_openapi_against_seen]
    for step in steps:
        try:
            if step.__code__.co_argcount:
                step(st)
            else:
                step()
        except Exception as e:      # a step that cannot go on fails, once
            import traceback
            traceback.print_exc()
            not_ok("%s stopped: %s: %s" % (step.__name__, type(e).__name__,
                                           e))
            if not st.get("rid"):
                break
    print("# test_gateway.py: %d checks, %d failed, %.1f s" % (
        counts["checks"], counts["failed"], time.time() - t0))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
