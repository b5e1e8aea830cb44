# config-doc.sh: docs/CONFIG.md lists exactly the settings the code has.
. "$(dirname "$0")/../lib.sh"
want=$("$REFERRALD" --settings)
have=$(sed -n '/^| section/,$p' "$REFERRAL_SOURCE/docs/CONFIG.md")
expect_eq "docs/CONFIG.md matches referrald --settings" "$want" "$have"
finish
