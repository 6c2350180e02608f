#ifndef SHIPLOG_CSPAWN_H
#define SHIPLOG_CSPAWN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Starting a pipeline step as a child process.
 *
 * The runner may be killed with SIGKILL at any instant. When that happens the step it was
 * running must die too, with everything the step started: a resumed runner will run the step
 * again, and two copies of a migration or a deploy must never run side by side. Swift cannot
 * run code between fork and exec, so the set-up lives here, in C.
 *
 * Why a PR_SET_PDEATHSIG on the step alone is not enough:
 *   - The signal reaches only the direct child. `sh -c 'migrate; notify'` runs `migrate` as a
 *     grandchild: with the shell killed, `migrate` would go on, orphaned and unsupervised.
 *   - The "parent" the kernel watches is the *thread* that called fork(), not the process: a
 *     step spawned from a thread that later exits would be killed at once.
 *
 * So shiplog_spawn starts two processes:
 *
 *   runner ── supervisor (a forked copy of the runner; never execs; named "shiplog-step")
 *                └── step: /bin/sh -c COMMAND, and everything it starts
 *
 * The supervisor leads a new process group, and the step stays in it. The supervisor waits
 * for two things:
 *   - the step's exit: it then exits the same way (same exit status, or death by the same
 *     signal), so the runner sees the step's own status when it reaps the supervisor;
 *   - the end of the runner: every supervisor holds the read end of one "lifeline" pipe whose
 *     write end only the runner holds (close-on-exec, and closed in every supervisor and
 *     step). Whatever way the runner ends, SIGKILL included, the kernel closes that write end,
 *     the read end reports end-of-file, and the supervisor sends SIGKILL to its whole process
 *     group: itself, the shell, and every process the shell started that stayed in the group.
 *     This follows the process, not a thread, so any thread may spawn.
 * And the step carries PR_SET_PDEATHSIG(SIGKILL) towards the supervisor (a single-threaded
 * process, so the thread caveat does not apply), in case the supervisor alone is killed.
 * A process that leaves the group on purpose (setsid, setpgid) is out of reach.
 *
 * The pid shiplog_spawn returns is the supervisor's, and it is also the process group id:
 * waitpid() on it gives the step's status, and shiplog_kill_group() on it reaches the whole
 * step. The supervisor blocks every signal, so a SIGTERM sent to the group reaches the shell
 * and its children but not the supervisor, which keeps the signal pending and, if the shell
 * dies of it, dies of it too; SIGKILL ends the supervisor with the rest.
 *
 * The forked processes run only async-signal-safe calls (the runner is multithreaded: after
 * fork only the forking thread exists in the child, and any lock another thread held stays
 * held forever), so: no malloc, no stdio, no locks. Processes are created with _Fork where the
 * C library has it, so no pthread_atfork handler of any library runs in them.
 *
 * Step by step:
 *
 *  Runner, before fork:
 *   - Creates the lifeline pipe once per process, and for each spawn a close-on-exec status
 *     pipe: a successful execve closes the step's copy of its write end, so the runner reads
 *     end-of-file; a failure before or at execve writes the failing stage and errno into it.
 *     The caller gets "no such file or directory" rather than a step that exits 127.
 *   - Blocks every signal in the calling thread around fork(), so no handler of the runner can
 *     run in the children; the caller's mask is restored right after.
 *
 *  Supervisor:
 *   1. setpgid(0, 0): a new process group for the whole step (its id is the supervisor's
 *      pid), so it can be signalled at once, and a terminal's Ctrl-C aimed at the runner's
 *      group does not reach the step directly.
 *   2. getppid() must still be the runner: if the runner is already gone, nothing starts.
 *   3. Forks the step, then closes every fd but the lifeline's read end (so it holds neither
 *      the lifeline's write end nor the step's output pipe), and waits, using a pidfd for the
 *      step where the kernel has them (Linux 5.3+), else checking every 100 ms.
 *
 *  Step, in this order:
 *   1. prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills the step if the supervisor dies.
 *      (Linux only; elsewhere the lifeline alone protects.)
 *   2. getppid() must still be the supervisor: if it died between fork() and prctl(), no
 *      death signal will ever come, so the step exits with 127 at once.
 *   3. Every signal disposition goes back to SIG_DFL and the signal mask is emptied: ignored
 *      signals (SIGPIPE, often ignored by language runtimes) and blocked signals survive
 *      execve, and a step must start with the defaults a shell expects.
 *   4. stdin_fd, stdout_fd and stderr_fd become fds 0, 1 and 2 (a negative value means
 *      /dev/null). They are first copied above 2, so any combination works, including the
 *      same fd for stdout and stderr or fds that are already 0, 1 or 2.
 *   5. chdir(workdir) when workdir is not NULL.
 *   6. Every other fd is closed (close_range, or a loop where the kernel lacks it): the step
 *      must not inherit the runner's database, log or socket descriptors, must not hold
 *      another step's output pipe open, and must not hold the lifeline.
 *   7. execve(path, argv, envp): exactly this environment, no PATH search.
 *
 * Returns 0 and stores the supervisor's pid (the step's process group id) in *pid_out once
 * the step has exec'd, or returns an errno value (leaving *pid_out untouched) when the step
 * could not be started; then both processes have already been reaped.
 *
 * argv and envp are NULL-terminated arrays that the caller builds before the call; nothing
 * is allocated after fork().
 */
int shiplog_spawn(const char *path, char *const argv[], char *const envp[], const char *workdir,
                  int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid_out);

/* The stage at which shiplog_spawn_detailed failed, so a caller can say what went wrong. */
enum {
    SHIPLOG_SPAWN_STAGE_NONE = 0,      /* no failure */
    SHIPLOG_SPAWN_STAGE_PREPARE = 1,   /* creating a pipe or a process */
    SHIPLOG_SPAWN_STAGE_PDEATHSIG = 2, /* prctl(PR_SET_PDEATHSIG) */
    SHIPLOG_SPAWN_STAGE_SETPGID = 3,   /* setpgid(0, 0) */
    SHIPLOG_SPAWN_STAGE_STDIO = 4,     /* opening /dev/null or duplicating fds 0, 1, 2 */
    SHIPLOG_SPAWN_STAGE_CHDIR = 5,     /* chdir(workdir) */
    SHIPLOG_SPAWN_STAGE_CLOSE_FDS = 6, /* closing inherited fds */
    SHIPLOG_SPAWN_STAGE_EXEC = 7,      /* execve(path) */
};

/*
 * shiplog_spawn, also reporting in *failed_stage (when not NULL) one of the
 * SHIPLOG_SPAWN_STAGE_ values: NONE on success, otherwise the step that failed.
 */
int shiplog_spawn_detailed(const char *path, char *const argv[], char *const envp[],
                           const char *workdir, int stdin_fd, int stdout_fd, int stderr_fd,
                           pid_t *pid_out, int *failed_stage);

/*
 * Sends sig to every process in process group pgid (kill(-pgid, sig)). Signal 0 only probes
 * whether the group still has members. Returns 0 or an errno (ESRCH: the group is empty).
 * pgid must be a pid returned by shiplog_spawn: values below 2 are refused with EINVAL,
 * because kill(-1) would signal every process the caller may signal and kill(0) the
 * caller's own group.
 */
int shiplog_kill_group(pid_t pgid, int sig);

/*
 * A pipe for a step's output: both ends close-on-exec (set atomically, so a process forked
 * by another thread at the same moment cannot inherit an end and hold the pipe open), the
 * read end non-blocking. fds[0] is the read end, fds[1] the write end.
 * Returns 0 or an errno.
 */
int shiplog_output_pipe(int fds[2]);

/*
 * A pidfd for pid (Linux 5.3+): it becomes readable in poll() when the process exits, so an
 * output loop wakes up for the exit as well as for output, with no polling interval.
 * Returns the fd (close-on-exec), or a negative errno (-ENOSYS where unsupported), in which
 * case the caller falls back to checking waitpid(WNOHANG) periodically.
 */
int shiplog_pidfd_open(pid_t pid);

#ifdef __cplusplus
}
#endif

#endif /* SHIPLOG_CSPAWN_H */
