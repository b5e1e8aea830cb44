/* referral-int.h: what the files of libreferral share, and nothing of it
 * leaves the library (libreferral.map exports ref_* only). */
#ifndef REF_REFERRAL_INT_H
#define REF_REFERRAL_INT_H

struct ref_client {
	void *ctx;
	char endpoint[1100];
	char data_dir[1024];
	int timeout_ms;
	char err[2400];
};

#endif
