/* sqlite_thread.h: stopping a store thread that sleeps on a condition
 * variable (the engines' writer, waker, checkpointer and reaper). */
#ifndef FLOWLOGD_STORE_SQLITE_THREAD_H
#define FLOWLOGD_STORE_SQLITE_THREAD_H

#include <pthread.h>

/** Sets *flag under mu, signals cv and joins t, if *started; then clears
 * *started. */
static inline void sq_stop_thread(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag,
                                  pthread_t t, int *started)
{
    if (!*started)
        return;
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
    *started = 0;
}

#endif
