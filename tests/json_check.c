// SPDX-License-Identifier: GPL-2.0
/*
 * json_check: validate JSON on stdin (RFC 8259, one value) and print values
 * at paths, for shell tests in a VM without jq.
 *
 *   cmd --json | json_check [PATH...]
 *
 * PATH is dot-separated: object keys and array indexes, e.g.
 * "devices.0.name". For each PATH one line: a string's text (escapes other
 * than \" \\ \/ \n \t printed as they are), a number or true/false/null as
 * written, and for an object or array its number of members.
 * Exit status: 0 valid and every path found, 1 invalid JSON (with the byte
 * offset), 3 a path not found, 2 usage.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *text, *pos;
static const char *found_start, *found_end;
static long found_members = -1;
static int found;

static void __attribute__((noreturn)) invalid(const char *why)
{
	fprintf(stderr, "json_check: invalid JSON at byte %ld: %s\n",
		(long)(pos - text), why);
	exit(1);
}

static void skip_ws(void)
{
	while (*pos == ' ' || *pos == '\t' || *pos == '\n' || *pos == '\r')
		pos++;
}

/* the first path segment equals @s..@e (a key) or @index */
static int segment_is(const char *path, const char *s, const char *e, long index)
{
	size_t n = strcspn(path, ".");

	if (s)
		return n == (size_t)(e - s) && !strncmp(path, s, n);
	return n && strspn(path, "0123456789") >= n && strtol(path, NULL, 10) == index;
}

static const char *rest_of(const char *path)
{
	const char *dot = strchr(path, '.');

	return dot ? dot + 1 : "";
}

static void parse_value(const char *path);

static void parse_string(void)
{
	pos++;	/* the opening quote */
	while (*pos != '"') {
		unsigned char c = *pos;

		if (!c)
			invalid("unterminated string");
		if (c < 0x20)
			invalid("control character in a string");
		if (c == '\\') {
			pos++;
			if (*pos == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)pos[i]))
						invalid("bad \\u escape");
				pos += 4;
			} else if (!strchr("\"\\/bfnrt", *pos) || !*pos) {
				invalid("bad escape");
			}
		}
		pos++;
	}
	pos++;
}

static void parse_number(void)
{
	if (*pos == '-')
		pos++;
	if (*pos == '0')
		pos++;
	else if (isdigit((unsigned char)*pos))
		while (isdigit((unsigned char)*pos))
			pos++;
	else
		invalid("bad number");
	if (*pos == '.') {
		pos++;
		if (!isdigit((unsigned char)*pos))
			invalid("bad fraction");
		while (isdigit((unsigned char)*pos))
			pos++;
	}
	if (*pos == 'e' || *pos == 'E') {
		pos++;
		if (*pos == '+' || *pos == '-')
			pos++;
		if (!isdigit((unsigned char)*pos))
			invalid("bad exponent");
		while (isdigit((unsigned char)*pos))
			pos++;
	}
}

/* @path: what is still to be found below this value, NULL if nothing */
static void parse_container(const char *path, char close)
{
	long members = 0;

	pos++;
	skip_ws();
	if (*pos == close) {
		pos++;
		if (path && !*path)
			found_members = 0;
		return;
	}
	for (;;) {
		const char *sub = NULL, *ks = NULL, *ke = NULL;

		skip_ws();
		if (close == '}') {
			if (*pos != '"')
				invalid("expected a key");
			ks = pos + 1;
			parse_string();
			ke = pos - 1;
			skip_ws();
			if (*pos++ != ':')
				invalid("expected ':'");
		}
		if (path && *path && segment_is(path, ks, ke, members))
			sub = rest_of(path);
		parse_value(sub);
		members++;
		skip_ws();
		if (*pos == ',') {
			pos++;
			continue;
		}
		if (*pos != close)
			invalid(close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
		pos++;
		break;
	}
	if (path && !*path)
		found_members = members;
}

static void parse_value(const char *path)
{
	const char *start;

	skip_ws();
	start = pos;
	if (*pos == '{')
		parse_container(path, '}');
	else if (*pos == '[')
		parse_container(path, ']');
	else if (*pos == '"')
		parse_string();
	else if (!strncmp(pos, "true", 4))
		pos += 4;
	else if (!strncmp(pos, "false", 5))
		pos += 5;
	else if (!strncmp(pos, "null", 4))
		pos += 4;
	else
		parse_number();
	if (path && !*path) {
		found = 1;
		found_start = start;
		found_end = pos;
	}
}

static void print_found(void)
{
	if (*found_start == '{' || *found_start == '[') {
		printf("%ld\n", found_members);
		return;
	}
	if (*found_start != '"') {
		printf("%.*s\n", (int)(found_end - found_start), found_start);
		return;
	}
	for (const char *p = found_start + 1; p < found_end - 1; p++) {
		if (*p == '\\' && strchr("\"\\/", p[1]))
			putchar(*++p);
		else if (*p == '\\' && p[1] == 'n' && ++p)
			putchar('\n');
		else if (*p == '\\' && p[1] == 't' && ++p)
			putchar('\t');
		else
			putchar(*p);
	}
	putchar('\n');
}

static void parse_document(const char *path)
{
	pos = text;
	found = 0;
	found_members = -1;
	parse_value(path);
	skip_ws();
	if (*pos)
		invalid("text after the value");
}

int main(int argc, char **argv)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	size_t n;
	int status = 0;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		puts("usage: json_check [PATH...] <json");
		return 0;
	}
	while (buf && (n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		return 2;
	buf[len] = 0;
	if (strlen(buf) != len) {
		fprintf(stderr, "json_check: NUL byte in the input\n");
		return 1;
	}
	text = buf;
	parse_document(NULL);
	for (int i = 1; i < argc; i++) {
		parse_document(argv[i]);
		if (!found) {
			fprintf(stderr, "json_check: no %s\n", argv[i]);
			status = 3;
			continue;
		}
		print_found();
	}
	free(buf);
	return status;
}
