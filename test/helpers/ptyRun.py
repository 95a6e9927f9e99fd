"""Runs a command in a pseudo-terminal (stdin, stdout and stderr all on it, as in an interactive shell) and prints a JSON
object {status, output, sent, timedOut}. Options (JSON on argv[1]): argv, env, cwd, columns, timeout, and steps: a list of
{after, send}: once `after` appears in the output (after what the previous step waited for), `send` is typed (e.g. "\u0003"
for Ctrl-C). Steps wait for text the program prints, never for a time gap."""
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
steps = opts.get('steps', [])
sent = 0
search_from = 0
deadline = time.time() + opts.get('timeout', 120)
timed_out = False
# Read until the terminal closes (EIO once the child and its descendants are gone), then reap the child: reading first
# keeps everything the child wrote before it exited.
while True:
    if time.time() > deadline:
        timed_out = True
        os.kill(pid, signal.SIGKILL)
        break
    ready, _, _ = select.select([fd], [], [], 0.02)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    while sent < len(steps):
        found = output.find(steps[sent]['after'].encode(), search_from)
        if found < 0:
            break
        search_from = found + len(steps[sent]['after'].encode())
        os.write(fd, steps[sent]['send'].encode())
        sent += 1
_, status = os.waitpid(pid, 0)
exit_code = os.waitstatus_to_exitcode(status)
print(json.dumps({'status': exit_code, 'output': output.decode('utf-8', 'replace'), 'sent': sent, 'timedOut': timed_out}))
