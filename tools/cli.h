/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmakit CLI: what its files share. main.c parses the options and
 * dispatches through a table of subcommands; common.c has the errors,
 * numbers, device nodes, data pattern and progress; json.c the JSON
 * writer; each cmd_*.c a group of subcommands.
 */
#ifndef DMAKIT_CLI_H
#define DMAKIT_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <dmakit/dmakit.h>

/* ---- options common to subcommands (parsed by main.c) ------------------- */

struct opts {
	int json;
	int to, from;
	int user;
	int staged;
	int zerocopy;
	int hold;
	int premap;
	int pfnmap;
	uint32_t kind, dst_kind;
	uint64_t len;
	int have_len;
	uint32_t dev_offset;
	uint64_t chunk;
	unsigned int count;
	unsigned int pages;
	const char *dev;
	const char *file;
	const char *out;
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct opts *o);
	int min_args, max_args;		/* positional arguments */
	const char *allowed;		/* options it takes, as "json,dev,..." */
	const char *help;
};

/* ---- common.c ----------------------------------------------------------- */

/* the subcommand running, for usage_error() */
extern const char *prog_cmd;

void __attribute__((noreturn)) die(const char *what, int err);
void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...);
uint64_t parse_size(const char *s, const char *what);
uint32_t parse_u32(const char *s, const char *what);
uint32_t kind_arg(const char *s);
double now(void);
const char *rate(double bytes, double seconds, char *out, size_t len);

/*
 * Progress of a multi-request operation, on stderr: a bar redrawn in place
 * on a terminal; otherwise a plain line at each tenth (and the last).
 */
struct progress {
	const char *what;
	uint64_t total;
	double start;
	int tty;
	int shown;
	int quiet;
};

void progress_init(struct progress *p, const char *what, uint64_t total, int quiet);
void progress_update(struct progress *p, uint64_t done);

int open_dev(const char *name);
int open_ctl(struct dmakit_info *info);
void fill_pattern(unsigned char *p, size_t len, unsigned int seed);
void *xmalloc(size_t len);

/* ---- json.c: JSON on stdout --------------------------------------------- */

void json_open(const char *key, char bracket);
void json_close(char bracket);
void json_str(const char *key, const char *value);
void json_u64(const char *key, uint64_t value);
void json_i64(const char *key, long long value);
void json_double(const char *key, double value);
void json_bool(const char *key, int value);
void json_hex(const char *key, uint64_t value);

/* ---- the subcommands ---------------------------------------------------- */

/* cmd_list.c */
int cmd_list(int argc, char **argv, struct opts *o);
int cmd_info(int argc, char **argv, struct opts *o);
int cmd_stats(int argc, char **argv, struct opts *o);

/* cmd_buffer.c */
void alloc_buf(const struct opts *o, uint32_t kind, uint64_t size,
	       struct dmakit_buf *buf, int *owner);
int cmd_alloc(int argc, char **argv, struct opts *o);
int cmd_map(int argc, char **argv, struct opts *o);
int cmd_translate(int argc, char **argv, struct opts *o);

/* cmd_xfer.c; totals also for bench: what several results add up to */
struct totals {
	unsigned int requests;
	uint64_t bytes, segments, sg_entries, dma_segments, bounced, copied;
	uint64_t device_ns, map_ns, unmap_ns;
	double seconds;
};

void add_result(struct totals *t, const struct dmakit_xfer_result *r, uint64_t bytes);
void json_totals(const struct totals *t);
void print_totals(const char *what, const struct totals *t);
int cmd_xfer(int argc, char **argv, struct opts *o);
int cmd_copy(int argc, char **argv, struct opts *o);

/* cmd_bench.c */
int cmd_bench(int argc, char **argv, struct opts *o);

/* cmd_edu.c */
int cmd_liveness(int argc, char **argv, struct opts *o);
int cmd_factorial(int argc, char **argv, struct opts *o);
int cmd_irq(int argc, char **argv, struct opts *o);
int cmd_loopback(int argc, char **argv, struct opts *o);

#endif /* DMAKIT_CLI_H */
