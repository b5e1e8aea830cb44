#!/usr/bin/python3
"""console_i18n.py: referral-gw's console in Chinese and its API in English
(run by tests/integration/i18n.sh, which starts the nodes, one gateway
under LANG=zh_CN.UTF-8 and one under LANG=C, and makes the tokens).

The console's pages fetched from the zh_CN gateway say lang="zh-CN", keep
their markup whole (every element closed, nothing a user typed become
markup), name their headings, buttons, labels, links and column headers
in Chinese, show states by their Chinese names, and hold no English
sentence a person reads (the same scan as the refctl session's: three
plain English words in a row). The C gateway's pages are the English
they were. The JSON API answers the same bytes from both, problems
included: stable codes and English detail, nothing translated.

Only the standard library; prints "ok - ..." / "FAIL - ..." lines like
tests/lib.sh and exits 1 on a failure."""
import html
import html.parser
import json
import os
import re
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import english  # noqa: E402  (tests/english.py)

ENV = os.environ
ZH, EN = ENV["GW_ZH"], ENV["GW_C"]
ADMIN, STAFF, RID = ENV["TOK_ADMIN"], ENV["TOK_STAFF"], ENV["REFERRAL_ID"]
OUT = ENV["OUT_DIR"]
UNKNOWN = RID.split("-")[0] + "-" + "0" * 32

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, counts, expect_eq, not_ok, ok  # noqa: E402,F401  (tests/http/tap.py)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(base, method, path, token=None, body=None, ctype=None):
    """(status, content type, body as text) of one request."""
    req = urllib.request.Request(base + path, method=method,
                                 data=body.encode() if body else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with OPENER.open(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), \
                r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), \
            e.read().decode("utf-8")


# ---- the console's pages ----------------------------------------------------

FORM = "application/x-www-form-urlencoded"
# (name, method, path, token, body, the status it answers)
PAGES = [
    ("login", "GET", "/console/login", None, None, 200),
    ("login-refused", "POST", "/console/login", None, "token=wrong-token", 401),
    ("overview", "GET", "/console/", ADMIN, None, 200),
    ("overdue", "GET", "/console/overdue", ADMIN, None, 200),
    ("dead", "GET", "/console/dead", ADMIN, None, 200),
    ("referral", "GET", "/console/referral?id=" + RID, ADMIN, None, 200),
    ("requeue-confirm", "GET", "/console/requeue?id=" + RID, ADMIN, None, 200),
    ("requeue-nothing", "POST", "/console/requeue", ADMIN, "id=" + RID, 404),
    ("unknown-referral", "GET", "/console/referral?id=" + UNKNOWN, ADMIN,
     None, 404),
    ("bad-id", "GET", "/console/referral?id=nonsense", ADMIN, None, 400),
    ("no-page", "GET", "/console/nosuch", ADMIN, None, 404),
    ("not-admin", "GET", "/console/", STAFF, None, 403),
    ("unknown-token", "GET", "/console/", "no-such-token", None, 401),
]

VOID = {"meta", "link", "input", "br", "img", "hr"}
INLINE = {"a", "b", "span", "i", "em", "strong"}
CJK = re.compile(r"[\u4e00-\u9fff]")


class Page(html.parser.HTMLParser):
    """The page's structure: whether every element closes in order, the
    lang attribute, the text of each element a person reads as a label,
    and the text in reading blocks (inline markup joined, <code> left
    out: commands are not prose)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.lang = [], [], None
        self.labels = []      # (tag, text) of h1 h2 button label th nav-a
        self.blocks, self.cur = [], []
        self.capture = []     # open label elements: [tag, text parts]
        self.code = 0
        self.th_kv = 0

    def flush(self):
        text = " ".join("".join(self.cur).split())
        if text:
            self.blocks.append(text)
        self.cur = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag not in VOID:
            self.stack.append((tag, a))
        if tag == "code":
            self.code += 1
        if tag not in INLINE and tag != "code":
            self.flush()
        in_nav = any(t == "nav" for t, _ in self.stack)
        in_kv = any(t == "table" and "kv" in (x.get("class") or "")
                    for t, x in self.stack)
        if tag in ("h1", "h2", "button", "label") or \
                (tag == "th" and not in_kv) or (tag == "a" and in_nav):
            self.capture.append([tag, []])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append("</%s> closes <%s>" % (
                tag, self.stack[-1][0] if self.stack else "nothing"))
            return
        self.stack.pop()
        if tag == "code":
            self.code -= 1
        if self.capture and self.capture[-1][0] == tag:
            t, parts = self.capture.pop()
            self.labels.append((t, " ".join("".join(parts).split())))
        if tag not in INLINE and tag != "code":
            self.flush()

    def handle_data(self, data):
        for c in self.capture:
            c[1].append(data)
        if not self.code:
            self.cur.append(data)


def english_runs(blocks):
    """The refctl scan (tests/english.py), on the page's text blocks."""
    return [b for b in blocks if english.is_sentence(b)]


def parse(body):
    p = Page()
    p.feed(body)
    p.close()
    p.flush()
    if p.stack:
        p.errors.append("left open: " + " ".join(t for t, _ in p.stack))
    return p


def console():
    pages = {}
    for name, method, path, tok, body, want in PAGES:
        st, ct, text = fetch(ZH, method, path, tok, body,
                             FORM if body else None)
        with open(os.path.join(OUT, "zh-%s.html" % name), "w") as f:
            f.write(text)
        check("zh_CN %s %s: %d, HTML" % (method, path.split("?")[0], want),
              st == want and ct.startswith("text/html"),
              "%d %s" % (st, ct))
        pages[name] = parse(text)
    bad_lang = [n for n, p in pages.items() if p.lang != "zh-CN"]
    check("every zh_CN page says lang=\"zh-CN\"", not bad_lang,
          ", ".join(bad_lang))
    broken = ["%s: %s" % (n, "; ".join(p.errors[:3]))
              for n, p in pages.items() if p.errors]
    check("every zh_CN page's elements close in order", not broken,
          " | ".join(broken))
    english = ["%s: %s" % (n, b) for n, p in pages.items()
               for b in english_runs(p.blocks)]
    check("no English sentence on the zh_CN console's pages",
          not english, "\n" + "\n".join(english))
    labels = ["%s <%s>%s" % (n, t, x) for n, p in pages.items()
              for t, x in p.labels if x not in ("#", "") and not CJK.search(x)]
    check("every heading, button, label, menu link and column header is "
          "Chinese", not labels, "; ".join(labels))
    text = {n: "\n".join(p.blocks) for n, p in pages.items()}
    want = [("overview", "队列和存储"), ("overview", "审计链完整"),
            ("referral", "转交记录 " + RID), ("referral", "由节点 "),
            ("referral", "已指派"), ("referral", "审计轨迹"),
            ("login", "令牌（管理员权限）"), ("login-refused", "该令牌未被接受。"),
            ("requeue-confirm", "重新发送转交记录 " + RID),
            ("requeue-nothing", "没有可重新发送的投递失败消息"),
            ("referral", "已补充材料"), ("referral", "转交编号"),
            ("referral", "转入"), ("overview", "目录版本"),
            ("overview", "节假日日历未覆盖"),
            ("unknown-referral", "本节点没有转交 " + UNKNOWN),
            ("not-admin", "控制台需要管理员权限"),
            ("unknown-token", "该令牌不是本节点生成的"),
            ("dead", "没有投递失败的消息。")]
    for n, s in want:
        check("the %s page says %s" % (n, s), s in text[n],
              text[n][:600])
    # The English gateway: the pages the browser test reads, unchanged.
    st, _, t = fetch(EN, "GET", "/console/", ADMIN)
    check("LANG=C: the overview is English (lang=\"en\", Queues and store)",
          st == 200 and '<html lang="en">' in t and "Queues and store" in t,
          t[:300])
    st, _, t = fetch(EN, "GET", "/console/referral?id=" + RID, ADMIN)
    check("LANG=C: the referral page names states by their codes",
          st == 200 and "ASSIGNED" in t and "signed by node" in t, t[:300])


# ---- the JSON API ----------------------------------------------------------

def api():
    calls = [
        ("no token", "GET", "/v1/referrals", None, None),
        ("a malformed Authorization", "GET", "/v1/referrals", "a b", None),
        ("an unknown token", "GET", "/v1/referrals", "no-such-token", None),
        ("an unknown referral", "GET", "/v1/referrals/" + UNKNOWN, STAFF,
         None),
        ("an unknown path", "GET", "/v1/nosuch", STAFF, None),
        ("a body that is not JSON", "POST", "/v1/referrals", STAFF, "{"),
        ("a move the state does not allow", "POST",
         "/v1/referrals/%s/accept" % RID, STAFF, "{}"),
        ("a referral", "GET", "/v1/referrals/" + RID, STAFF, None),
    ]
    for what, method, path, tok, body in calls:
        a = fetch(ZH, method, path, tok, body,
                  "application/json" if body else None)
        b = fetch(EN, method, path, tok, body,
                  "application/json" if body else None)
        if a[0] >= 400:
            try:
                p = json.loads(a[2])
            except ValueError:
                p = {}
            check("zh_CN API, %s: problem+json %d with a stable code and "
                  "English detail" % (what, a[0]),
                  a[1] == "application/problem+json" and
                  str(p.get("code", "")).startswith("REF_E_") and
                  p.get("detail") and not CJK.search(a[2]), a[2][:300])
        # The same bytes but for the times that move between the calls.
        norm = lambda s: re.sub(r'"[a-z_]*(_at|time)[a-z_]*":"[^"]*"', "",
                                s)
        expect_eq("the API answers %s the same under zh_CN and C" % what,
                  (b[0], b[1], norm(b[2])), (a[0], a[1], norm(a[2])))
    st, _, t = fetch(ZH, "GET", "/v1/referrals/" + UNKNOWN, STAFF)
    check("and the detail is the node's English",
          "no referral %s on this node" % UNKNOWN in t, t[:300])


console()
api()
print("# console_i18n.py: %d checks, %d failed" % (counts["checks"], counts["failed"]))
sys.exit(1 if counts["failed"] else 0)
