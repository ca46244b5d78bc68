// SPDX-License-Identifier: GPL-2.0
/*
 * on_tty: run a command with its stdout and stderr on a pseudo-terminal
 * and copy what it wrote there to our stdout, byte for byte (carriage
 * returns included). Busybox has no script(1); the cli suite uses this to
 * see what dmakit shows on a terminal.
 *
 *   on_tty COMMAND [ARGS...]     exit status: the command's
 */
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct termios raw;
	char buf[4096];
	int master, status;
	ssize_t n;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: on_tty COMMAND [ARGS...]\n");
		return 2;
	}
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0) {
		perror("forkpty");
		return 2;
	}
	if (pid == 0) {
		/* no "\n" -> "\r\n": what the program wrote, unchanged */
		if (!tcgetattr(STDOUT_FILENO, &raw)) {
			raw.c_oflag &= ~OPOST;
			tcsetattr(STDOUT_FILENO, TCSANOW, &raw);
		}
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	/* EIO once the child closed its side of the terminal */
	while ((n = read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, n, stdout) != (size_t)n)
			return 2;
	if (waitpid(pid, &status, 0) < 0)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
