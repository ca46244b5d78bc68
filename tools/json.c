// SPDX-License-Identifier: GPL-2.0
/*
 * dmakit CLI: JSON on stdout (--json): nested objects and arrays, commas
 * and escaping handled here.
 */
#include <stdio.h>

#include "cli.h"

static int json_depth;
static int json_first[32];

static void json_sep(void)
{
	if (json_depth && !json_first[json_depth])
		putchar(',');
	json_first[json_depth] = 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key(const char *key)
{
	json_sep();
	if (key) {
		json_string(key);
		putchar(':');
	}
}

void json_open(const char *key, char bracket)
{
	json_key(key);
	putchar(bracket);
	json_first[++json_depth] = 1;
}

void json_close(char bracket)
{
	putchar(bracket);
	if (--json_depth == 0)
		putchar('\n');
}

void json_str(const char *key, const char *value)
{
	json_key(key);
	json_string(value);
}

void json_u64(const char *key, uint64_t value)
{
	json_key(key);
	printf("%llu", (unsigned long long)value);
}

void json_i64(const char *key, long long value)
{
	json_key(key);
	printf("%lld", value);
}

void json_double(const char *key, double value)
{
	json_key(key);
	printf("%.6g", value);
}

void json_bool(const char *key, int value)
{
	json_key(key);
	fputs(value ? "true" : "false", stdout);
}

void json_hex(const char *key, uint64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "0x%llx", (unsigned long long)value);
	json_str(key, text);
}
