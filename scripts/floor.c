/*
 * floor.c — the least work a rollback of the work tree must do, to time the
 * tool against: the "floor" column of BENCHMARKS.md.
 *
 *   floor WORKTREE PLAN DATA
 *
 * It lstats every entry of WORKTREE (every directory is read except any
 * named .git), then carries out PLAN: removes the files it names, then the
 * directories it names (the planner lists only those left empty, deepest
 * first), then writes the files it names with bytes taken from DATA. The
 * walk, the removals and the writes each run on as many threads as the tool
 * uses (src/walk.rs, threads(): the available cores, at most 8).
 *
 * It counts no object reads or writes (the bytes come ready in DATA, not
 * compressed in a pack), no index, no refs, no journal and no fsync: a lower
 * bound, not a re-implementation. scripts/floor-plan.py writes PLAN and
 * DATA, untimed, with the git command line. PLAN has one line per action,
 * fields separated by tabs, the path last:
 *
 *   D <path>                                remove a file (or symlink)
 *   R <path>                                remove an empty directory
 *   W <mode> <chmod> <offset> <length> <path>
 *                                           write DATA[offset, offset+length)
 *
 * <mode> is git's (100644, 100755 or 120000: then the bytes are the link's
 * target); <chmod> is 1 when the file is there with the other mode.
 *
 * Plain C99 and POSIX threads: `cc -O2 -pthread -o floor floor.c`.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "floor: %s %s: %s\n", what, path ? path : "", strerror(errno));
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory", NULL);
	return p;
}

/* The tool's thread count: src/walk.rs, threads(). */
static int thread_count(void)
{
	cpu_set_t set;
	int n = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : n;
}

static void run_threads(int n, void *(*fn)(void *))
{
	pthread_t t[8];
	for (int i = 0; i < n; i++)
		if ((errno = pthread_create(&t[i], NULL, fn, NULL)))
			die("could not start a thread", NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------ the walk */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	char **dirs;                    /* directories still to read */
	size_t len, cap;
	int busy;                       /* threads reading one now */
	atomic_long entries;
} walk = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };

static void walk_push(char *dir)
{
	pthread_mutex_lock(&walk.lock);
	if (walk.len == walk.cap) {
		walk.cap = walk.cap ? 2 * walk.cap : 1024;
		walk.dirs = realloc(walk.dirs, walk.cap * sizeof(*walk.dirs));
		if (!walk.dirs)
			die("out of memory", NULL);
	}
	walk.dirs[walk.len++] = dir;
	pthread_cond_signal(&walk.more);
	pthread_mutex_unlock(&walk.lock);
}

static void *walker(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&walk.lock);
		while (walk.len == 0 && walk.busy > 0)
			pthread_cond_wait(&walk.more, &walk.lock);
		if (walk.len == 0) {    /* nothing queued, nobody reading: done */
			pthread_cond_broadcast(&walk.more);
			pthread_mutex_unlock(&walk.lock);
			return NULL;
		}
		char *dir = walk.dirs[--walk.len];
		walk.busy++;
		pthread_mutex_unlock(&walk.lock);

		DIR *d = opendir(dir);
		if (!d)
			die("could not read the directory", dir);
		size_t dlen = strlen(dir);
		long n = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			const char *name = e->d_name;
			if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".git"))
				continue;
			struct stat st;
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
				die("could not lstat an entry of", dir);
			n++;
			if (S_ISDIR(st.st_mode)) {
				size_t len = dlen + 1 + strlen(name) + 1;
				char *sub = xmalloc(len);
				snprintf(sub, len, "%s/%s", dir, name);
				walk_push(sub);
			}
		}
		closedir(d);
		free(dir);
		atomic_fetch_add(&walk.entries, n);

		pthread_mutex_lock(&walk.lock);
		walk.busy--;
		pthread_cond_broadcast(&walk.more);
		pthread_mutex_unlock(&walk.lock);
	}
}

/* ------------------------------------------------------------ the plan */

struct action {
	char kind;                      /* 'D', 'R' or 'W' */
	unsigned mode;
	int chmod;
	size_t offset, length;
	char *path;
};

static struct action *actions;
static size_t n_actions;
static const char *data;
static size_t data_len;
/* The range of actions of one phase, taken one at a time by the threads. */
static size_t phase_end;
static atomic_size_t next_action;

static void read_plan(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("could not open the plan", path);
	size_t cap = 1024;
	actions = xmalloc(cap * sizeof(*actions));
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t len;
	while ((len = getline(&line, &line_cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (n_actions == cap) {
			cap *= 2;
			actions = realloc(actions, cap * sizeof(*actions));
			if (!actions)
				die("out of memory", NULL);
		}
		struct action *a = &actions[n_actions++];
		memset(a, 0, sizeof(*a));
		a->kind = line[0];
		int at = 0;     /* where the path starts; 0: a bad line */
		if ((a->kind == 'D' || a->kind == 'R') && line[1] == '\t')
			at = 2;
		if (a->kind == 'W' && (sscanf(line, "W\t%o\t%d\t%zu\t%zu\t%n", &a->mode,
					      &a->chmod, &a->offset, &a->length, &at) != 4
				       || a->offset + a->length > data_len))
			at = 0;
		if (at == 0 || line[at] == '\0') {
			fprintf(stderr, "floor: %s: bad line %zu: %s\n", path, n_actions, line);
			exit(1);
		}
		a->path = strdup(line + at);
	}
	free(line);
	fclose(f);
}

static void map_data(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		die("could not open the data", path);
	data_len = (size_t)st.st_size;
	if (data_len) {
		data = mmap(NULL, data_len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED)
			die("could not map the data", path);
	}
	close(fd);
}

/* Create the missing parent directories of `path` (another thread may be
 * creating the same ones). */
static void make_parents(const char *path)
{
	char *p = strdup(path);
	for (char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0777) && errno != EEXIST)
			die("could not create the directory", p);
		*slash = '/';
	}
	free(p);
}

static void write_file(const struct action *a)
{
	const char *bytes = data + a->offset;
	if (a->mode == 0120000) {
		char *target = strndup(bytes, a->length);
		if (unlink(a->path) && errno != ENOENT)
			die("could not remove", a->path);
		if (symlink(target, a->path)) {
			if (errno != ENOENT)
				die("could not create the symlink", a->path);
			make_parents(a->path);
			if (symlink(target, a->path))
				die("could not create the symlink", a->path);
		}
		free(target);
		return;
	}
	mode_t perm = a->mode == 0100755 ? 0777 : 0666;
	/* Over the old bytes, then cut to length, as the tool writes: not
	 * truncated to nothing first (on ext4 that frees the blocks and makes
	 * close() start writing the file back). */
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(a->path, flags, perm);
	if (fd < 0 && errno == ENOENT) {
		make_parents(a->path);
		fd = open(a->path, flags, perm);
	}
	if (fd < 0)
		die("could not open", a->path);
	for (size_t done = 0; done < a->length;) {
		ssize_t n = write(fd, bytes + done, a->length - done);
		if (n < 0)
			die("could not write", a->path);
		done += (size_t)n;
	}
	struct stat st;
	if (fstat(fd, &st))
		die("could not stat", a->path);
	if ((size_t)st.st_size != a->length && ftruncate(fd, (off_t)a->length))
		die("could not cut to length", a->path);
	if (a->chmod) {
		mode_t mask = umask(0);
		umask(mask);
		if (fchmod(fd, perm & ~mask))
			die("could not change the mode of", a->path);
	}
	if (close(fd))
		die("could not write", a->path);
}

static void *doer(void *unused)
{
	(void)unused;
	for (;;) {
		size_t i = atomic_fetch_add(&next_action, 1);
		if (i >= phase_end)
			return NULL;
		const struct action *a = &actions[i];
		if (a->kind == 'D') {
			if (unlink(a->path))
				die("could not remove", a->path);
		} else {
			write_file(a);
		}
	}
}

/* Run the actions [start, end), all of one kind, on `threads` threads. */
static void phase(size_t start, size_t end, int threads)
{
	if (start == end)
		return;
	atomic_store(&next_action, start);
	phase_end = end;
	run_threads(threads, doer);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: floor WORKTREE PLAN DATA\n");
		return 2;
	}
	map_data(argv[3]);
	read_plan(argv[2]);
	if (chdir(argv[1]))
		die("could not enter", argv[1]);
	int threads = thread_count();

	walk_push(strdup("."));
	run_threads(threads, walker);

	/* The plan lists removals, then directories, then writes. */
	size_t i = 0, start;
	for (start = i; i < n_actions && actions[i].kind == 'D'; i++)
		;
	phase(start, i, threads);
	size_t removed_dirs = 0;
	for (; i < n_actions && actions[i].kind == 'R'; i++, removed_dirs++)
		if (rmdir(actions[i].path))
			die("could not remove the directory", actions[i].path);
	for (start = i; i < n_actions && actions[i].kind == 'W'; i++)
		;
	phase(start, i, threads);
	if (i != n_actions) {
		fprintf(stderr, "floor: the plan is not in the order D, R, W at line %zu\n", i + 1);
		return 1;
	}
	if (getenv("FLOOR_VERBOSE"))
		fprintf(stderr, "floor: %d thread(s), %ld entries lstat'ed, %zu removed, "
			"%zu directories removed, %zu written\n", threads,
			atomic_load(&walk.entries), start - removed_dirs, removed_dirs, i - start);
	return 0;
}
