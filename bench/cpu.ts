/**
 * CPU seconds used so far by PostgreSQL servers (the postmaster and its reaped backends) and by this
 * process: on a machine shared with other work, CPU time says what the work costs, wall time does not.
 */
import fs from 'node:fs';

export function cpuSeconds(pids: readonly number[]): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // after "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14
    total += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / ticks;
  }
  const own = process.cpuUsage();
  return total + (own.user + own.system) / 1e6;
}
