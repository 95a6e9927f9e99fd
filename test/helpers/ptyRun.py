"""Runs a command in a pseudo-terminal (stdin, stdout and stderr all on it, as in an interactive shell) and prints a JSON
object {status, output}. Options (JSON on argv[1]): argv, env, cwd, interrupts (how many Ctrl-C to type once `after`
appears in the output), after, gap (seconds between Ctrl-Cs), columns, timeout."""
import json, os, pty, select, signal, struct, sys, time, fcntl, termios

opts = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    env = dict(os.environ)
    env.update(opts.get('env', {}))
    if opts.get('cwd'):
        os.chdir(opts['cwd'])
    os.execvpe(opts['argv'][0], opts['argv'], env)

fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, opts.get('columns', 100), 0, 0))
output = b''
sent = 0
seen_at = None
deadline = time.time() + opts.get('timeout', 120)
timed_out = False
# Read until the terminal closes (EIO once the child and its descendants are gone), then reap the child: reading first
# keeps everything the child wrote before it exited.
while True:
    if time.time() > deadline:
        timed_out = True
        os.kill(pid, signal.SIGKILL)
        break
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    after = opts.get('after')
    if sent < opts.get('interrupts', 0) and after and after.encode() in output:
        if seen_at is None:
            seen_at = time.time()
        if time.time() - seen_at >= sent * opts.get('gap', 0.3):
            os.write(fd, b'\x03')
            sent += 1
_, status = os.waitpid(pid, 0)
exit_code = os.waitstatus_to_exitcode(status)
print(json.dumps({'status': exit_code, 'output': output.decode('utf-8', 'replace'), 'interrupts': sent, 'timedOut': timed_out}))
