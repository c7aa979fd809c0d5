/* sink.h: where a window's flow-log records go. The agent hands each flow
 * log's records for each closed window to a sink. The files sink is the one
 * there is; other destinations (CLS topics, Kafka) go behind the same table
 * of functions.
 *
 * A successful sink_write means the records are durable (for files: on disk,
 * fsync'd, under their final name): only then may the caller forget them. */
#ifndef FLOWLOGD_SINK_SINK_H
#define FLOWLOGD_SINK_SINK_H

#include <stddef.h>
#include <stdint.h>

/** Where one flow log's records go, as the control plane describes the flow
 * log (CreateFlowLog's storage fields). Borrowed. The files sink ignores it;
 * the CLS and Kafka sinks route by it. Any field may be NULL/0 when unknown. */
struct sink_dest {
    const char *storage_type;  /* "cls" or "ckafka" */
    const char *cls_topic_id;  /* CloudLogId */
    const char *cls_region;    /* CloudLogRegion (the flow log's region if empty) */
    const char *ckafka_id;     /* FlowLogStorage.StorageId */
    const char *ckafka_topic;  /* FlowLogStorage.StorageTopic */
    const char *ckafka_brokers;/* the inventory's Brokers of that instance, "h:p,h:p" */
    const char *resource_id;   /* the resource the records are about (Kafka message key) */
    const char *host;          /* the capturing host (CLS `source`) */
    const char *fields;        /* the record line's field names, space-separated, in order */
    uint64_t account_uin;      /* the flow log's owner */
};

/** One flow log's records for one window. Borrowed by sink_write. */
struct sink_window {
    const char *flowlog_id;  /* fl-xxxxxxxx: letters, digits, '-', '_', '.' */
    uint64_t win_start, win_end; /* seconds since the epoch */
    const char *records;     /* newline-terminated lines (may be empty) */
    size_t len;
    size_t nrecords;
    const struct sink_dest *dest; /* NULL: no delivery destination known */
};

struct sink;

struct sink_ops {
    int (*write)(struct sink *s, const struct sink_window *w, char *err, size_t errlen);
    void (*close)(struct sink *s);
};

struct sink {
    const struct sink_ops *ops;
    const char *name;
};

/** Writes one window's records. Returns 0 once they are durable, or -1
 * with err[errlen] saying why (nothing half-written is left visible). */
static inline int sink_write(struct sink *s, const struct sink_window *w, char *err,
                             size_t errlen)
{
    return s->ops->write(s, w, err, errlen);
}

/** Closes the sink (NULL is fine). */
static inline void sink_close(struct sink *s)
{
    if (s)
        s->ops->close(s);
}

/* ==== The files sink ==== */

/** A sink writing DIR/FLOWLOG-ID/START-END.log, one file per flow log and
 * window: written to a temporary name, fsync'd, renamed without replacing
 * (a second write of the same window becomes START-END.N.log, never an
 * overwrite), and the directory fsync'd. DIR is created if missing. NULL
 * with err on failure. */
struct sink *sink_files_open(const char *dir, char *err, size_t errlen);

/** Writes to fd the records of `flowlog_id` under DIR whose windows overlap
 * [since, until) (0 and UINT64_MAX for no bound), in window order. Returns
 * the number of windows printed, or -1 with err (no such flow log under DIR
 * is an error: "no records for ..."). */
long sink_files_read(const char *dir, const char *flowlog_id, uint64_t since, uint64_t until,
                     int fd, char *err, size_t errlen);

/** For sink_files_each: one window file's bounds and contents (valid during
 * the call). Non-zero stops the walk (and is returned). */
typedef int (*sink_files_fn)(void *ud, uint64_t win_start, uint64_t win_end, const char *records,
                             size_t len);

/** Calls fn for each window file of `flowlog_id` under DIR overlapping
 * [since, until), in window order (a window written twice: each file, in
 * the order written). No such flow log under DIR is no window. Returns 0,
 * what fn returned to stop, or -1 with err. */
int sink_files_each(const char *dir, const char *flowlog_id, uint64_t since, uint64_t until,
                    sink_files_fn fn, void *ud, char *err, size_t errlen);

/* ==== The Kafka (CKafka) sink ==== */

/** Field names of a record line when the destination gives none. */
#define SINK_KAFKA_DEFAULT_FIELDS                                                               \
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "  \
    "start end action log-status"
#define SINK_KAFKA_DEFAULT_SPOOL_MAX 1073741824ull /* 1 GiB (replay's --spool-max-bytes default) */
#define SINK_KAFKA_DEFAULT_LINGER_MS 20

struct sink_kafka_opts {
    const char *spool_dir;       /* required: the on-disk spool (created if missing) */
    uint64_t spool_max_bytes;    /* 0: SINK_KAFKA_DEFAULT_SPOOL_MAX */
    const char *client_id;       /* NULL: "flowlogd" */
    int linger_ms;               /* < 0: SINK_KAFKA_DEFAULT_LINGER_MS */
    const char *const *conf;     /* more librdkafka "key=value" settings, NULL-ended, or NULL */
};

/** A sink producing each record of a window to dest->ckafka_topic on
 * dest->ckafka_brokers (one producer per broker list, reused): one JSON
 * object per record, keys the field names (dest->fields), values the line's
 * words as strings, plus "__RECORD_ID__" = "<flowlog id>:<window start>:<index
 * in the window>"; message key the record's interface-id or ccn-id (else
 * dest->resource_id); idempotent producer, acks=all, lz4.
 *
 * sink_write returns 0 once the window is in the on-disk spool (fsync'd);
 * a sender thread delivers spooled windows and removes each once Kafka
 * acknowledged all its records. Delivery is at-least-once: a window cut
 * short (a crash, a failed delivery) is produced again whole, with the same
 * record ids. When the spool would pass its bound the window is dropped
 * whole: one SKIPDATA record for its flow log and bounds is spooled in its
 * place, a line is logged and windows_dropped counts it. Windows spooled by
 * an earlier process in the same directory are sent too. A window whose
 * dest->storage_type is set and not "ckafka" is not this sink's: sink_write
 * returns 0 and does nothing (the agent hands every window to every sink).
 * NULL with err. */
struct sink *sink_kafka_open(const struct sink_kafka_opts *o, char *err, size_t errlen);

struct sink_kafka_stats {
    uint64_t windows_spooled, windows_sent, records_sent, resends;
    uint64_t windows_dropped, records_dropped; /* spool full: SKIPDATA instead */
    uint64_t spool_files, spool_bytes, spool_bad;
};
void sink_kafka_stats(struct sink *s, struct sink_kafka_stats *st);

/** Waits until the spool is empty (every window delivered): 0, or 1 after
 * timeout_ms (< 0: no limit). */
int sink_kafka_drain(struct sink *s, int timeout_ms);

/** Is `id` acceptable as a flow-log id in a path (no '/', no leading '.')? */
int sink_id_ok(const char *id);

/* ==== The CLS sink (cls.c) ==== */

/** Where the CLS sink uploads and with what credential. Copied by
 * sink_cls_open. */
struct sink_cls_config {
    const char *endpoint;   /* "http://127.0.0.1:8080", "https://cls.example" */
    const char *secret_id, *secret_key, *token; /* token: NULL for a permanent key */
    const char *region;     /* used when a window's dest has no cls_region */
    const char *agent_id;   /* names this agent's batches (idempotency); NULL "agent" */
    const char *cacert;     /* https: the CA file; NULL: the system's */
    unsigned timeout_s;     /* per request; 0: 60 */
    unsigned retries;       /* more attempts after a failure worth retrying */
};

/** A sink delivering each window to w->dest->cls_topic_id with UploadLog
 * (one CLS log per record, one content per field, time = the record's
 * start, source = dest->host; batches of at most 10,000 logs, lz4, each
 * tagged so that a retried batch is stored once). A write returns 0 once
 * the service acknowledged every batch. NULL with err on failure. */
struct sink *sink_cls_open(const struct sink_cls_config *cfg, char *err, size_t errlen);

#endif
