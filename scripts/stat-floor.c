/*
 * stat-floor.c — the least work of knowing that a tree is unchanged: one
 * fstatat of each path the tool's scan cache checks, the floor of `test` on
 * an unchanged tree (BENCHMARKS.md, "What moved").
 *
 *   stat-floor THREADS LIST WORKTREE [ROUNDS]
 *
 * LIST holds one path a line, relative to WORKTREE, in index order (`git
 * ls-files` writes it). Each of THREADS threads takes an equal run of the
 * list and stats each path through a handle on its folder (opened with
 * O_PATH once for a run of paths in the same folder), as the tool's
 * src/journal/scancache.rs does. Each round prints its wall time.
 *
 *   git -C "$WORK" ls-files > /tmp/list.txt
 *   cc -O2 -pthread -o /tmp/stat-floor scripts/stat-floor.c
 *   /tmp/stat-floor 2 /tmp/list.txt "$WORK" 5
 *
 * Plain C99 and POSIX threads.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char **paths;
static size_t count;
static long threads;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *stat_run(void *arg)
{
    long k = (long)arg;
    size_t lo = count * k / threads, hi = count * (k + 1) / threads;
    char dir[4096] = "";
    size_t dir_len = (size_t)-1;
    int fd = -1;
    struct stat st;
    for (size_t i = lo; i < hi; i++) {
        const char *p = paths[i];
        const char *slash = strrchr(p, '/');
        if (!slash) {
            lstat(p, &st);
            continue;
        }
        size_t len = (size_t)(slash - p);
        if (len >= sizeof dir)
            continue;
        if (len != dir_len || strncmp(dir, p, len) != 0) {
            memcpy(dir, p, len);
            dir[len] = '\0';
            dir_len = len;
            if (fd >= 0)
                close(fd);
            fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd >= 0)
            fstatat(fd, slash + 1, &st, AT_SYMLINK_NOFOLLOW);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: stat-floor THREADS LIST WORKTREE [ROUNDS]\n");
        return 2;
    }
    threads = atol(argv[1]);
    int rounds = argc > 4 ? atoi(argv[4]) : 5;
    if (threads < 1 || threads > 64 || rounds < 1) {
        fprintf(stderr, "stat-floor: THREADS must be 1-64 and ROUNDS at least 1\n");
        return 2;
    }
    FILE *list = fopen(argv[2], "r");
    if (!list) {
        perror(argv[2]);
        return 1;
    }
    size_t cap = 1024;
    paths = malloc(cap * sizeof *paths);
    char line[4096];
    while (paths && fgets(line, sizeof line, list)) {
        line[strcspn(line, "\n")] = '\0';
        if (count == cap) {
            cap *= 2;
            paths = realloc(paths, cap * sizeof *paths);
            if (!paths)
                break;
        }
        paths[count++] = strdup(line);
    }
    fclose(list);
    if (!paths) {
        fprintf(stderr, "stat-floor: out of memory\n");
        return 1;
    }
    if (chdir(argv[3]) != 0) {
        perror(argv[3]);
        return 1;
    }
    pthread_t *ids = malloc((size_t)threads * sizeof *ids);
    if (!ids)
        return 1;
    for (int r = 0; r < rounds; r++) {
        double start = now_ms();
        for (long k = 0; k < threads; k++)
            pthread_create(&ids[k], NULL, stat_run, (void *)k);
        for (long k = 0; k < threads; k++)
            pthread_join(ids[k], NULL);
        printf("%ld thread(s): %.1f ms for %zu paths\n", threads, now_ms() - start, count);
    }
    return 0;
}
