// A private PostgreSQL 15 cluster (Debian's /usr/lib/postgresql/15/bin) for the relay: made
// by initdb in the suite's temporary directory, listening on a Unix socket there only (no
// TCP), with trust authentication. PostgreSQL refuses to run as root: as root its programs
// run in a user namespace where root appears as the postgres user (the files stay root's
// outside), or, where user namespaces are unavailable, as the postgres user itself.
//
// The postmaster is a child of the test process, which stops it (fast shutdown); should
// the test process die first, setpriv's parent-death signal shuts it down (SIGQUIT,
// immediate shutdown).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { Daemon, SETPRIV } from './daemon.mjs';

const BINDIR = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';
const PORT = 5432; // the name of the socket in the private directory: no TCP port is used

/** The postgres user's { uid, gid } from /etc/passwd. */
function postgresUser() {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: install postgresql-15 (deploy/install-packages)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * How PostgreSQL's programs run: setpriv's options and the command before the program
 * (both empty when not root).
 */
function runner(dir) {
  if (process.getuid() !== 0) return { options: [], prefix: [] };
  const { uid, gid } = postgresUser();
  const unshare = ['unshare', '--user', `--map-user=${uid}`, `--map-group=${gid}`];
  try {
    execFileSync(unshare[0], [...unshare.slice(1), 'true'], { stdio: 'ignore' });
    return { options: [], prefix: unshare };
  } catch {
    // As the postgres user, which must reach the directory: search permission on the
    // private directories above it (never on a shared one such as /tmp).
    chownSync(dir, uid, gid);
    for (const d of [path.dirname(dir), path.dirname(path.dirname(dir))]) {
      const { mode, uid: owner } = statSync(d);
      if (owner === 0 && (mode & 0o777) === 0o700) chmodSync(d, 0o711);
    }
    return { options: [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups'], prefix: [] };
  }
}

export class Postgres extends Daemon {
  /** dir: the suite's temporary directory; the cluster goes to dir/pg. */
  constructor(dir) {
    super('postgres', path.join(dir, 'pg', 'postgresql.log'));
    this.dir = path.join(dir, 'pg');
    this.data = path.join(this.dir, 'data');
    this.url = `host=${this.dir} port=${PORT} dbname=postgres user=postgres`;
  }

  async start() {
    mkdirSync(this.dir, { mode: 0o700 });
    const { options, prefix } = runner(this.dir);
    try {
      execFileSync(SETPRIV, [...options, ...prefix, path.join(BINDIR, 'initdb'), '-D', this.data,
        '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync'], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`initdb failed: ${err.stderr || err.message}`);
    }
    // unshare execs: the postmaster is this process's child. Should this process die first,
    // SIGQUIT: an immediate shutdown.
    this.spawn([...prefix, path.join(BINDIR, 'postgres'), '-D', this.data, '-k', this.dir,
      '-p', String(PORT), '-c', 'listen_addresses=', '-c', 'fsync=off'],
    { deathSignal: 'SIGQUIT', setprivOptions: options });
    await this.waitUntil(() => {
      execFileSync(path.join(BINDIR, 'pg_isready'), ['-q', '-h', this.dir, '-p', String(PORT),
        '-U', 'postgres', '-d', 'postgres'], { stdio: 'ignore' });
      return true;
    }, 'accepting connections', 30000);
    return this;
  }

  /** A fast shutdown (SIGINT), then { code, signal } once the postmaster has exited. */
  stop(timeoutMs = 15000) {
    return super.stop('SIGINT', timeoutMs);
  }
}
