/* spool.h: the Kafka sink's bounded on-disk spool. Each accepted window is
 * one file DIR/<seq>.win (seq: 20 decimal digits, increasing), written to a
 * temporary name, fsync'd, renamed and the directory fsync'd before
 * spool_put returns, so it survives a crash or a restart; the sender reads
 * the files back in seq order and removes each once Kafka acknowledged all
 * its records.
 *
 * A file: the line "FLSPOOL1", a one-line JSON header (flow log, window,
 * destination, record count, byte length and FNV-1a 64 checksum of the
 * records), then the records (newline-terminated text lines). A file that
 * does not read back whole (truncated, wrong checksum, bad header) is
 * reported, renamed to <seq>.bad (kept for a person to look at, never sent,
 * never silently deleted) and counted.
 *
 * One process at a time owns a directory (an flock on DIR/.lock).
 * Thread-safe. */
#ifndef FLOWLOGD_SINK_SPOOL_H
#define FLOWLOGD_SINK_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/** One window as spooled. Strings are NUL-terminated; for spool_put they are
 * borrowed (NULL = ""), from spool_read they are owned (spool_win_free). */
struct spool_win {
    char *flowlog_id;
    uint64_t win_start, win_end;
    char *topic, *brokers;
    char *key;    /* the Kafka message key (the resource id) */
    char *fields; /* the record line's field names, space-separated */
    uint64_t nrecords;
    char *records; /* newline-terminated lines */
    size_t len;
};

struct spool;

/** Opens (creating it if missing) the spool in `dir`, holding at most
 * max_bytes of window files. Files left by an earlier process are taken up;
 * temporary files (never acknowledged) are removed; .bad files are counted.
 * NULL with err (another process holds the directory: "... is in use"). */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);

void spool_close(struct spool *s);

/** Writes w as the next window file, durable on return. Returns 0 (and
 * *seq if seq), 1 when it would take the spool past its bound (nothing
 * written; with force it is written all the same: for the small SKIPDATA
 * window that replaces a dropped one), or -1 with err. */
int spool_put(struct spool *s, const struct spool_win *w, int force, uint64_t *seq, char *err,
              size_t errlen);

/** The first spooled seq greater than `after`: 0, or 1 when none. */
int spool_next(struct spool *s, uint64_t after, uint64_t *seq);

/** Reads window file seq into w. Returns 0; -1 with err when it is missing
 * or does not read back whole: then (but for a missing file) it is renamed
 * <seq>.bad, leaves the spool's count and is counted as bad. */
int spool_read(struct spool *s, uint64_t seq, struct spool_win *w, char *err, size_t errlen);

/** Removes window file seq (its records were delivered). 0 or -1. */
int spool_remove(struct spool *s, uint64_t seq);

void spool_win_free(struct spool_win *w);

struct spool_stats {
    uint64_t files, bytes; /* windows waiting, and their size on disk */
    uint64_t bad;          /* .bad files in the directory */
    uint64_t max_bytes;
};
void spool_stats(struct spool *s, struct spool_stats *st);

struct buf;
/** (kafka.c) One record line as the JSON object the Kafka sink produces,
 * appended to out: {"field":"value", ..., "__RECORD_ID__":"<flowlog>:<start>:
 * <index>"}. 0, or -1 when the line has not one word per field. */
int sink_kafka_record_json(struct buf *out, const char *fields, const char *line, size_t len,
                           const char *flowlog_id, uint64_t win_start, uint64_t index);

/** FNV-1a 64 of p[0..n) (the records' checksum). */
uint64_t spool_sum(const char *p, size_t n);

#endif
