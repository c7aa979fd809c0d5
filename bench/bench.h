/* bench.h: flowlogd-bench, the load generator and data-set builder.
 *
 *   flowlogd-bench run      ...  the epoll load generator (loadgen.c)
 *   flowlogd-bench setup    ...  populates a data directory through store.h (setup.c)
 *   flowlogd-bench startup  ...  spawn `flowlogd serve`, time the first answer (startup.c)
 *
 * The data set is deterministic apart from the accounts' random Uin and keys,
 * which setup writes to DIR/bench-accounts.json; every resource id is derived
 * from (account index, item index) by the functions below, so the load phase
 * can rebuild them without reading the store.
 */
#ifndef FLOWLOGD_BENCH_BENCH_H
#define FLOWLOGD_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_REGION "ap-guangzhou"
#define BENCH_VPCS 2 /* per account; ENIs and flow logs alternate between them */
#define BENCH_FILE "bench-accounts.json"
/* Flow logs of the setup sit on ENI ids above this (not in the inventory),
 * so CreateFlowLog on the imported ENIs never collides with them. */
#define BENCH_FL_RES_BASE 1000000000ull

/* ==== the data set ==== */

struct bench_account {
    char uin[24];
    char secret_id[64];
    char secret_key[64];
    uint32_t idx;
};

struct bench_set {
    char region[32];
    uint32_t naccounts;
    uint32_t enis;     /* per account, in the inventory, without a flow log */
    uint32_t flowlogs; /* per account (the first `flowlogs % naccounts` have one more) */
    uint32_t tags;     /* tags per flow log (0 or 1) */
    struct bench_account *acc;
};

/** Loads DIR/bench-accounts.json. 0, or -1 with a message on stderr. */
int bench_set_load(const char *dir, struct bench_set *s);
void bench_set_free(struct bench_set *s);

/** 8 characters of [0-9a-z] (base 36, zero-padded) + NUL. */
void b36_8(uint64_t v, char out[9]);

/* Ids of account `a`'s items. Buffers of 32 bytes; UUID buffer 37. */
void bench_vpc_id(uint32_t a, uint32_t v, char *out);
void bench_subnet_id(uint32_t a, uint32_t v, char *out);
void bench_eni_id(uint32_t a, uint32_t enis, uint32_t i, char *out);
void bench_ins_id(uint32_t a, uint32_t enis, uint32_t i, char *out);
void bench_cls_id(uint32_t a, char out[37]);

/* ==== entry points ==== */

int bench_run_main(int argc, char **argv);
int bench_setup_main(int argc, char **argv);
int bench_startup_main(int argc, char **argv);
int bench_cls_ingest_main(int argc, char **argv);

/* ==== helpers (util.c) ==== */

/** Monotonic microseconds. */
uint64_t bench_now_us(void);

/** Minimal long-option parser: --name value or --name=value. */
struct bopt {
    const char *name;
    const char **val; /* NULL: a flag (sets *flag) */
    int *flag;
};
/** Parses argv[1..]; positional arguments are refused. 0, or -1 with a message. */
int bopt_parse(int argc, char **argv, const struct bopt *opts, const char *usage);
/** Parses a non-negative integer option value; def when s is NULL. -1 on junk. */
int bopt_u64(const char *name, const char *s, uint64_t def, uint64_t *out);
int bopt_double(const char *name, const char *s, double def, double *out);

#endif
