"""tap.py: the checks the gateway's Python tests print, as tests/lib.sh's
shell checks do ("ok - ..." or "FAIL - ..."), and their count, which each
test prints at its end and turns into its exit status."""

counts = {"checks": 0, "failed": 0}


def ok(what):
    counts["checks"] += 1
    print("ok - " + what, flush=True)


def not_ok(what):
    counts["checks"] += 1
    counts["failed"] += 1
    print("FAIL - " + what, flush=True)


def check(what, cond, detail=""):
    if cond:
        ok(what)
    else:
        not_ok(what + (": " + detail if detail else ""))
    return cond


def expect_eq(what, want, got):
    return check(what, want == got, "expected %r, got %r" % (want, got))
