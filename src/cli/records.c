/* records.c: `flowlogd records`, a flow log's records from the files sink. */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/opts.h"
#include "base/util.h"
#include "cli/cli.h"
#include "sink/sink.h"

static const char records_synopsis[] =
    "usage: flowlogd records (--data DIR | --records DIR) FLOWLOG-ID [--since T] [--until T]\n"
    "Prints the flow log's records, window by window, from the files the agent wrote\n"
    "(DIR/records/FLOWLOG-ID/ for a data directory, or an agent's --records DIR).\n"
    "T is seconds since the epoch or a UTC time 2026-12-07T17:00:00Z; the windows\n"
    "printed are those overlapping [since, until).\n"
    "Exit status: 0; 1 when the flow log has no records there; 2 usage.\n";

static const struct opt records_opts[] = {
    {"data", OPT_STR, "DIR", NULL, 0, 0, 0, "a data directory"},
    {"records", OPT_STR, "DIR", NULL, 0, 0, 0, "an agent's records directory"},
    {"since", OPT_STR, "T", NULL, 0, 0, 0, "from this time"},
    {"until", OPT_STR, "T", NULL, 0, 0, 0, "to this time"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

/* Seconds since the epoch, or YYYY-MM-DDTHH:MM:SS[Z]. */
static int parse_time(const char *s, uint64_t *out)
{
    if (parse_u64(s, strlen(s), out) == 0)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end && strcmp(end, "Z") != 0))
        return -1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *out = (uint64_t)t;
    return 0;
}

int cli_records(int argc, char **argv)
{
    struct opts o;
    char dir[4096], err[512];
    uint64_t since = 0, until = UINT64_MAX;

    if (opts_parse(&o, argc, argv, records_opts, records_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos != 1 || (!opts_get(&o, "data") == !opts_get(&o, "records"))) {
        opts_usage(stderr, records_opts, records_synopsis);
        return 2;
    }
    if ((opts_get(&o, "since") && parse_time(opts_get(&o, "since"), &since) != 0) ||
        (opts_get(&o, "until") && parse_time(opts_get(&o, "until"), &until) != 0)) {
        fputs("flowlogd: --since/--until take seconds since the epoch or "
              "YYYY-MM-DDTHH:MM:SSZ\n", stderr);
        return 2;
    }
    if (opts_get(&o, "data"))
        snprintf(dir, sizeof dir, "%s/records", opts_get(&o, "data"));
    else
        snprintf(dir, sizeof dir, "%s", opts_get(&o, "records"));
    if (!sink_id_ok(o.pos[0])) {
        fprintf(stderr, "flowlogd: '%s' is not a flow-log id\n", o.pos[0]);
        return 2;
    }
    long n = sink_files_read(dir, o.pos[0], since, until, STDOUT_FILENO, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "flowlogd records: %s\n", err);
        return 1;
    }
    return 0;
}
