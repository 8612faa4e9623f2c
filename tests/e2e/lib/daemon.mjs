// A long-running child of the test process (the relay, PostgreSQL): its output appended to
// a log file, readiness polled, stopped by a signal. setpriv's parent-death signal ends it
// when the test process dies, however it dies; on a normal exit it is signalled directly.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export const SETPRIV = '/usr/bin/setpriv';

const running = new Map(); // child process -> the signal that ends it
process.on('exit', () => {
  for (const [child, signal] of running) child.kill(signal);
});

export class Daemon {
  /** name: for messages; logfile: where its stdout and stderr go. */
  constructor(name, logfile) {
    this.name = name;
    this.logfile = logfile;
    this.proc = null;
    this.exit = null;
  }

  /**
   * Starts argv under setpriv with `setprivOptions` (they must be setpriv's own: a change of
   * user clears the parent-death signal, so it is set by the same setpriv) and the
   * parent-death signal `deathSignal`; without setpriv, argv as it is.
   */
  spawn(argv, { deathSignal, env, setprivOptions = [] }) {
    const log = openSync(this.logfile, 'a');
    const [cmd, ...args] = existsSync(SETPRIV)
      ? [SETPRIV, '--pdeathsig', deathSignal.replace(/^SIG/, ''), ...setprivOptions, ...argv]
      : argv;
    this.proc = spawn(cmd, args, { env, stdio: ['ignore', log, log] });
    closeSync(log);
    running.set(this.proc, deathSignal);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        running.delete(this.proc);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /**
   * Polls `probe` every 25 ms until it resolves to true (anything else, or an error, says
   * why not yet); throws once `timeoutMs` has passed or the process has exited.
   */
  async waitUntil(probe, what, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}:\n${this.log()}`);
      try {
        const answer = await probe();
        if (answer === true) return;
        last = answer;
      } catch (err) {
        last = err.message;
      }
      await delay(25);
    }
    throw new Error(`${this.name} not ${what} within ${timeoutMs} ms (${last}):\n${this.log()}`);
  }

  alive() {
    return this.proc !== null && this.exit === null;
  }

  /** `signal`, then { code, signal } once it has exited (SIGKILL after timeoutMs). */
  async stop(signal, timeoutMs = 15000) {
    if (!this.alive()) return this.exit;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  kill() {
    if (this.alive()) this.proc.kill('SIGKILL');
  }

  log() {
    try {
      return readFileSync(this.logfile, 'utf8');
    } catch {
      return '';
    }
  }
}
