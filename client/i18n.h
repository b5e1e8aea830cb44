/* i18n.h: refctl's (and the gateway console's) human text in the reader's
 * language. Chinese (zh_CN) where the locale asks for it, English
 * otherwise (LANG=C, the tests).
 * Only what a person reads is translated: --json output, the wire, the
 * node's codes and its English detail stay as they are, since receipts
 * and logs cross counties and tools match on them.
 *
 * _() marks a string for xgettext (po/POTFILES) and looks it up; N_()
 * only marks one looked up later (a table's entries). */
#ifndef REF_I18N_H
#define REF_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

/* i18n_setup: the locale from the environment and refctl's catalog:
 * REFERRAL_LOCALEDIR if set (the tests point it at the build tree's po/),
 * else the install prefix's locale folder. Never fails: without a catalog
 * or a locale the text stays English. */
void i18n_setup(void);

/* i18n_state: a lifecycle state's name for people ("GRANTED" -> 给予法律
 *援助 under zh_CN); an unknown code comes back as it is (borrowed). */
const char *i18n_state(const char *code);

/* i18n_detail: the node's English detail (a refusal's reason, a note on a
 * move) in the reader's language when it is one of the templates the node
 * is known to send, its state codes named as i18n_state names them; any
 * other detail comes back as it is, English, never lost. The result lives
 * until the fourth call after in the same thread (per-thread buffers:
 * the gateway calls it from the thread serving each page). */
const char *i18n_detail(const char *detail);

#endif
