/* refctl-notice.h: the law's notices for the applicant, printed (refctl
 * notice), and the record that the applicant was told (refctl notified). */
#ifndef REF_REFCTL_NOTICE_H
#define REF_REFCTL_NOTICE_H

/* refctl_notice: notice ID --type KIND --out FILE.pdf. */
int refctl_notice(int argc, char **argv);

/* refctl_notified: notified ID --how post|in-person|sms --on DATE. */
int refctl_notified(int argc, char **argv);

#endif
