/* test-sort.c: SORT ordering (RFC 5256 section 3, RFC 5957): every key,
 * REVERSE, several criteria and the implicit sequence-number criterion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/str.h"
#include "search/sort.h"
#include "base/casemap.h"

/* Six messages with keys chosen so that every criterion gives a
 * different order. */
static void fill(struct sort_msg *m)
{
	memset(m, 0, 6 * sizeof(*m));
	for (uint32_t i = 0; i < 6; i++) {
		m[i].msn = i + 1;
		m[i].uid = 100 + i;
	}
	m[0].arrival = 500; m[1].arrival = 100; m[2].arrival = 300;
	m[3].arrival = 200; m[4].arrival = 600; m[5].arrival = 400;

	/* 3 has no Date: its sent date is its arrival (300) */
	m[0].sent_date = 250; m[0].has_sent_date = true;
	m[1].sent_date = 900; m[1].has_sent_date = true;
	m[3].sent_date = 100; m[3].has_sent_date = true;
	m[4].sent_date = 350; m[4].has_sent_date = true;
	m[5].sent_date = 250; m[5].has_sent_date = true;	/* = msg 1 */

	m[0].size = 30; m[1].size = 10; m[2].size = 60;
	m[3].size = 20; m[4].size = 10; m[5].size = 50;

	m[0].subject = "beta";
	m[1].subject = "Alpha";
	m[2].subject = NULL;		/* no Subject: "" */
	m[3].subject = "alpha";
	m[4].subject = "\xc3\xa9t\xc3\xa9";	/* "ete" sorts after "beta" */
	m[5].subject = "Gamma";

	m[0].from = "zed"; m[1].from = "Amy"; m[2].from = "bob";
	m[3].from = ""; m[4].from = "amy"; m[5].from = "carl";

	m[0].to = "b"; m[1].to = "a"; m[2].to = "d";
	m[3].to = "c"; m[4].to = NULL; m[5].to = "e";

	m[0].cc = "x"; m[1].cc = NULL; m[2].cc = "w";
	m[3].cc = "y"; m[4].cc = "v"; m[5].cc = "X";

	m[0].displayfrom = "Zed Smith"; m[1].displayfrom = "amy@example.com";
	m[2].displayfrom = "Bob"; m[3].displayfrom = "";
	m[4].displayfrom = "\xc3\x84rger"; m[5].displayfrom = "b\xc3\xa4r";

	m[0].displayto = "b"; m[1].displayto = "c"; m[2].displayto = "a";
	m[3].displayto = "b"; m[4].displayto = "a"; m[5].displayto = NULL;
}

/* Sorts the six messages by `crit` and compares the msn list. */
static void check(const struct sort_criterion *crit, size_t n,
		  const char *expected)
{
	struct sort_msg m[6];
	struct str out = STR_INIT;

	fill(m);
	sort_messages(m, 6, crit, n);
	for (size_t i = 0; i < 6; i++) {
		str_printfa(&out, "%s%u", i > 0 ? " " : "", m[i].msn);
		assert_int_equal(m[i].uid, 100 + m[i].msn - 1);	/* moved whole */
	}
	if (strcmp(str_c(&out), expected) != 0)
		fail_msg("sorted \"%s\", expected \"%s\"", str_c(&out),
			 expected);
	str_free(&out);
}

#define CHECK1(key, rev, expected) do { \
	struct sort_criterion c_[] = { { key, rev } }; \
	check(c_, 1, expected); \
} while (0)

static void test_single_keys(void **state)
{
	(void)state;
	/* no criteria: mailbox order */
	check(NULL, 0, "1 2 3 4 5 6");
	CHECK1(SORT_KEY_ARRIVAL, false, "2 4 3 6 1 5");
	/* DATE: 4(100) 1(250) 6(250, msn breaks the tie) 3(300 = arrival)
	 * 5(350) 2(900) */
	CHECK1(SORT_KEY_DATE, false, "4 1 6 3 5 2");
	/* SIZE: 2 and 5 are both 10 */
	CHECK1(SORT_KEY_SIZE, false, "2 5 4 1 6 3");
	/* SUBJECT: "" first, "Alpha" = "alpha" (msn order), then beta,
	 * "ete" (e-acute decomposes to E + accent), gamma */
	CHECK1(SORT_KEY_SUBJECT, false, "3 2 4 1 5 6");
	/* FROM: "" < Amy = amy < bob < carl < zed */
	CHECK1(SORT_KEY_FROM, false, "4 2 5 3 6 1");
	/* TO: absent = "" first */
	CHECK1(SORT_KEY_TO, false, "5 2 1 4 3 6");
	/* CC: absent first; x = X */
	CHECK1(SORT_KEY_CC, false, "2 5 3 1 6 4");
	/* DISPLAYFROM: "" < "AMY@..." < "A\xcc\x88RGER" ('M' < 0xcc: the
	 * umlaut decomposes to A + U+0308) < "BA\xcc\x88R" < "BOB" < "ZED" */
	CHECK1(SORT_KEY_DISPLAYFROM, false, "4 2 5 6 3 1");
	CHECK1(SORT_KEY_DISPLAYTO, false, "6 3 5 1 4 2");
}

static void test_reverse(void **state)
{
	(void)state;
	CHECK1(SORT_KEY_ARRIVAL, true, "5 1 6 3 4 2");
	/* REVERSE does not reverse the implicit msn criterion: 1 and 6
	 * tie on DATE and stay in msn order */
	CHECK1(SORT_KEY_DATE, true, "2 5 3 1 6 4");
	CHECK1(SORT_KEY_SIZE, true, "3 6 1 4 2 5");
	CHECK1(SORT_KEY_SUBJECT, true, "6 5 1 2 4 3");
	CHECK1(SORT_KEY_FROM, true, "1 6 3 2 5 4");
	CHECK1(SORT_KEY_TO, true, "6 3 4 1 2 5");
	CHECK1(SORT_KEY_CC, true, "4 1 6 3 5 2");
	CHECK1(SORT_KEY_DISPLAYFROM, true, "1 3 6 5 2 4");
	CHECK1(SORT_KEY_DISPLAYTO, true, "2 1 4 3 5 6");
}

static void test_multiple(void **state)
{
	(void)state;
	/* (SUBJECT DATE): the two "alpha" by date: 4 (100) before 2 (900) */
	struct sort_criterion c1[] = {
		{ SORT_KEY_SUBJECT, false }, { SORT_KEY_DATE, false } };
	check(c1, 2, "3 4 2 1 5 6");
	/* (SUBJECT REVERSE DATE), the RFC's second example's form */
	struct sort_criterion c2[] = {
		{ SORT_KEY_SUBJECT, false }, { SORT_KEY_DATE, true } };
	check(c2, 2, "3 2 4 1 5 6");
	/* (SIZE REVERSE ARRIVAL): 2 and 5 are 10 octets; 5 arrived later */
	struct sort_criterion c3[] = {
		{ SORT_KEY_SIZE, false }, { SORT_KEY_ARRIVAL, true } };
	check(c3, 2, "5 2 4 1 6 3");
	/* REVERSE SUBJECT is not the reverse of SUBJECT (RFC note):
	 * 2 and 4 stay in msn order */
	struct sort_criterion c4[] = { { SORT_KEY_SUBJECT, true } };
	check(c4, 1, "6 5 1 2 4 3");
	/* a key given twice is harmless */
	struct sort_criterion c5[] = {
		{ SORT_KEY_FROM, false }, { SORT_KEY_FROM, true },
		{ SORT_KEY_SIZE, true } };
	check(c5, 3, "4 2 5 3 6 1");
}

static void test_input_order(void **state)
{
	(void)state;
	/* the result does not depend on the input order */
	struct sort_msg m[6], r[6];
	struct sort_criterion c[] = { { SORT_KEY_SUBJECT, false } };

	fill(m);
	for (size_t i = 0; i < 6; i++)
		r[i] = m[5 - i];
	sort_messages(r, 6, c, 1);
	const uint32_t expected[] = { 3, 2, 4, 1, 5, 6 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(r[i].msn, expected[i]);

	/* zero and one message */
	sort_messages(m, 0, c, 1);
	sort_messages(m, 1, c, 1);
	assert_int_equal(m[0].msn, 1);
}

/* Many messages, few distinct keys: equal keys keep msn order, and the
 * result is sorted. */
static void test_large(void **state)
{
	(void)state;
	const size_t n = 20000;
	struct sort_msg *m = xcalloc(n, sizeof(*m));
	char (*subj)[16] = xcalloc(n, sizeof(*subj));
	struct sort_criterion c[] = {
		{ SORT_KEY_SUBJECT, true }, { SORT_KEY_SIZE, false } };

	for (size_t i = 0; i < n; i++) {
		m[i].msn = (uint32_t)(n - i);	/* given in reverse */
		m[i].size = (i * 7919) % 13;
		snprintf(subj[i], sizeof(subj[i]), "%c%zu",
			 (i % 2) ? 'S' : 's', (i * 31) % 5);
		m[i].subject = subj[i];
	}
	sort_messages(m, n, c, 2);
	for (size_t i = 1; i < n; i++) {
		int sc = strcasecmp(m[i - 1].subject, m[i].subject);
		assert_true(sc >= 0);
		if (sc == 0) {
			assert_true(m[i - 1].size <= m[i].size);
			if (m[i - 1].size == m[i].size)
				assert_true(m[i - 1].msn < m[i].msn);
		}
	}
	free(subj);
	free(m);
}

static void test_sent_date(void **state)
{
	(void)state;
	struct sort_msg m;
	memset(&m, 0, sizeof(m));
	m.arrival = 42;
	m.sent_date = 7;
	assert_int_equal(sort_msg_sent_date(&m), 42);
	m.has_sent_date = true;
	assert_int_equal(sort_msg_sent_date(&m), 7);
	m.sent_date = -5;	/* before the epoch is a date too */
	assert_int_equal(sort_msg_sent_date(&m), -5);
}

/* ---- the radix pass against a plain comparison sort ---- */

static const struct sort_msg *ref_msgs;
static const struct sort_criterion *ref_crit;
static size_t ref_crit_count;

static const char *ref_string(const struct sort_msg *m, enum sort_key key)
{
	const char *s = key == SORT_KEY_CC ? m->cc : key == SORT_KEY_FROM ? m->from :
		key == SORT_KEY_TO ? m->to : key == SORT_KEY_SUBJECT ? m->subject :
		key == SORT_KEY_DISPLAYFROM ? m->displayfrom : m->displayto;
	return s == NULL ? "" : s;
}

/* RFC 5256 section 3 spelled out directly, one criterion after the
 * other, then the msn */
static int ref_compare(const void *p1, const void *p2)
{
	const struct sort_msg *a = &ref_msgs[*(const size_t *)p1];
	const struct sort_msg *b = &ref_msgs[*(const size_t *)p2];

	for (size_t i = 0; i < ref_crit_count; i++) {
		enum sort_key key = ref_crit[i].key;
		int ret;

		if (key == SORT_KEY_ARRIVAL || key == SORT_KEY_DATE) {
			int64_t x = key == SORT_KEY_DATE ? sort_msg_sent_date(a) : a->arrival;
			int64_t y = key == SORT_KEY_DATE ? sort_msg_sent_date(b) : b->arrival;
			ret = x < y ? -1 : x > y;
		} else if (key == SORT_KEY_SIZE) {
			ret = a->size < b->size ? -1 : a->size > b->size;
		} else {
			struct str x = STR_INIT, y = STR_INIT;
			const char *sa = ref_string(a, key), *sb = ref_string(b, key);
			casemap_unicode(sa, strlen(sa), &x);
			casemap_unicode(sb, strlen(sb), &y);
			size_t lx = x.len, ly = y.len;
			ret = memcmp(lx == 0 ? "" : x.data, ly == 0 ? "" : y.data,
				     lx < ly ? lx : ly);
			if (ret == 0)
				ret = lx < ly ? -1 : lx > ly;
			str_free(&x);
			str_free(&y);
		}
		if (ret != 0)
			return ref_crit[i].reverse ? -ret : ret;
	}
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

/* Random keys that make the 64-bit summaries of sort.c collide and
 * differ in every byte: dates at both ends of int64 and around 0,
 * sizes above 2^63, strings sharing prefixes of 7, 8 and 9 bytes,
 * upper and lower case, non-ASCII, empty and missing. */
static void test_random_against_reference(void **state)
{
	(void)state;
	static const char *const strings[] = {
		NULL, "", "a", "A", "abcdefg", "abcdefgh", "ABCDEFGH", "abcdefghi",
		"abcdefgha", "abcdefgh\xc3\xa9", "\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9",
		"zzzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzzy", "\xff\xfe", "topic 10", "Topic 9",
	};
	static const int64_t dates[] = {
		INT64_MIN, INT64_MIN + 1, -1, 0, 1, 255, 256, 1735689600, 1735689601,
		INT64_MAX - 1, INT64_MAX,
	};
	static const uint64_t sizes[] = { 0, 1, 255, 256, UINT64_MAX / 2, UINT64_MAX / 2 + 1,
					  UINT64_MAX };
	const size_t n = 600;
	struct sort_msg *m = xcalloc(n, sizeof(*m)), *want = xcalloc(n, sizeof(*want));
	size_t *order = xcalloc(n, sizeof(*order));
	unsigned int seed = 5256;

	for (unsigned int round = 0; round < 200; round++) {
		struct sort_criterion crit[4];
		size_t crit_count = (size_t)(rand_r(&seed) % 5);

		for (size_t i = 0; i < crit_count; i++) {
			crit[i].key = (enum sort_key)(rand_r(&seed) % SORT_KEY_COUNT);
			crit[i].reverse = rand_r(&seed) % 2 == 0;
		}
		for (size_t i = 0; i < n; i++) {
			/* msns distinct, given in a shuffled order */
			m[i] = (struct sort_msg){ .msn = (uint32_t)((i * 7919) % n + 1) };
			m[i].uid = m[i].msn;
			m[i].arrival = dates[rand_r(&seed) % N_ELEMENTS(dates)];
			m[i].sent_date = dates[rand_r(&seed) % N_ELEMENTS(dates)];
			m[i].has_sent_date = rand_r(&seed) % 3 != 0;
			m[i].size = sizes[rand_r(&seed) % N_ELEMENTS(sizes)];
			m[i].cc = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			m[i].from = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			m[i].to = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			m[i].subject = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			m[i].displayfrom = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			m[i].displayto = strings[rand_r(&seed) % N_ELEMENTS(strings)];
			order[i] = i;
		}
		ref_msgs = m;
		ref_crit = crit;
		ref_crit_count = crit_count;
		qsort(order, n, sizeof(*order), ref_compare);
		for (size_t i = 0; i < n; i++)
			want[i] = m[order[i]];
		sort_messages(m, n, crit, crit_count);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(m[i].msn, want[i].msn);
		/* sort_msg_compare() agrees with the order, both ways */
		for (size_t i = round % 5; i + 1 < n; i += 5) {
			assert_true(sort_msg_compare(&m[i], &m[i + 1], crit, crit_count) < 0);
			assert_true(sort_msg_compare(&m[i + 1], &m[i], crit, crit_count) > 0);
		}
	}
	free(order);
	free(want);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_keys),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_multiple),
		cmocka_unit_test(test_input_order),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_sent_date),
		cmocka_unit_test(test_random_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
