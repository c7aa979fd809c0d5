/* flowlog.c: `flowlogd flowlog format`: a flow log's record format, set or
 * read by the operator (admin/record_format.c; the same as POST
 * /admin/flowlog-format). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/state.h"
#include "base/opts.h"
#include "cli/cli.h"

static const char synopsis[] =
    "usage: flowlogd flowlog format (--data DIR | --store URL) --uin UIN [--region R]\n"
    "                               FLOWLOG-ID [FORMAT]\n"
    "\n"
    "Sets a flow log's record format (or, without FORMAT, prints it): `default` (Tencent's\n"
    "line: version account-id interface-id srcaddr dstaddr srcport dstport protocol\n"
    "packets bytes start end action log-status), `ccn` (the CCN line), or field names\n"
    "separated by spaces or commas, each optionally ${name}, among those and tcp-flags,\n"
    "flow-direction, pkt-srcaddr, pkt-dstaddr, type, vpc-id, subnet-id, instance-id,\n"
    "region, region-id, ccn-id, srcregionid, dstregionid (AWS semantics; docs/API.md).\n"
    "Records of the windows that close after the change use it. Prints\n"
    "{\"FlowLogId\",\"Format\",\"Version\"}.\n";

static const struct opt flowlog_opts[] = {
    OPT_DATA_OR_STORE,
    {"uin", OPT_STR, "UIN", NULL, 0, 0, 1, "the flow log's account"},
    {"region", OPT_STR, "REGION", "ap-guangzhou", 0, 0, 0, "the flow log's region"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

int cli_flowlog(int argc, char **argv)
{
    struct opts o;
    struct store *st;
    struct admin_answer a;
    json_t *in;
    int rc = 1;

    if (opts_parse(&o, argc, argv, flowlog_opts, synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos < 2 || o.npos > 3 || strcmp(o.pos[0], "format") != 0) {
        opts_usage(stderr, flowlog_opts, synopsis);
        return 2;
    }
    in = json_pack("{s:s,s:s,s:s}", "Uin", opts_str(&o, "uin"), "Region",
                   opts_str(&o, "region"), "FlowLogId", o.pos[1]);
    if (!in || (o.npos == 3 && json_object_set_new(in, "Format", json_string(o.pos[2])) != 0)) {
        json_decref(in);
        fputs("flowlogd: out of memory\n", stderr);
        return 1;
    }
    if (!(st = cli_open_store(&o))) {
        json_decref(in);
        return 1;
    }
    a = admin_flowlog_format(st, in);
    if (a.status == 200) {
        char *s = json_dumps(a.body, JSON_COMPACT);
        if (s && puts(s) >= 0 && fflush(stdout) == 0)
            rc = 0;
        free(s);
    } else {
        json_t *m = json_object_get(json_object_get(a.body, "Error"), "Message");
        fprintf(stderr, "flowlogd: flowlog format: %s\n",
                json_is_string(m) ? json_string_value(m) : "(no message)");
    }
    json_decref(a.body);
    json_decref(in);
    store_close(st);
    return rc;
}
