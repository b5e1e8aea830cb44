"""english.py FILE: prints each line of FILE that holds an English sentence
a person reads, so a zh_CN run can be checked for untranslated text.

Three or more plain English words in a row is a sentence. Codes (labour,
green_channel, STORED), ids, paths, flags and placeholders (ID, TEXT) are
not: a token with a digit, _ - . / : = # or in capitals breaks a run.
Left out as not read as prose: the node's and the gateway's log lines
(English by design, as they are read across counties: a time stamp and a
level first), tail's file headers, and JSON (the API's and --json's
stable English codes)."""
import re
import sys

LOG = re.compile(r"^\s*\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|warn|warning|error) ")
WORD = re.compile(r"[A-Za-z][a-z]+[,;.?:]?")


def is_sentence(line):
    """Three or more plain English words in a row."""
    run = 0
    for tok in line.split(" "):
        if WORD.fullmatch(tok.strip("()（）\n")) and not tok.isupper():
            run += 1
            if run >= 3:
                return True
        else:
            run = 0
    return False


def english_lines(lines):
    """The lines a person reads that hold an English sentence."""
    bad = []
    for line in lines:
        s = line.strip()
        if LOG.match(line) or s.startswith("==> ") or s[:1] in ("{", "["):
            continue
        if is_sentence(line):
            bad.append(line.rstrip())
    return bad


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print("\n".join(english_lines(f)))
